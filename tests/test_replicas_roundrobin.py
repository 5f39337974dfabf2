"""Confirmations survive a round-robin balancer (issue 16): two stateless `late-mcp` processes on
one real redis-server, behind a loopback proxy written here that sends each request to the other
replica than the one before. Every preview is made on one replica and confirmed on the other, by
token (a client as today) and by the 2026-07-28 multi-round-trip flow (a client that can be asked);
each confirmed call acts exactly once, counted at the Late stand-in (the sandbox over real HTTP).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextContent

from conftest import TEST_KEY, asking, structured
from late_mcp.auth.redis_tokens import RedisTokenStore
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.state import SEED_ACCOUNT_NORDIC_TWITTER
from standin import served
from test_redis import free_port, http_sandbox_app, redis_server, redis_url, start_replica, wait_for_port

pytestmark = pytest.mark.anyio
__all__ = ["http_sandbox_app", "redis_server", "redis_url"]  # fixtures used here, defined there
CYCLES = 50
MODERN = "2026-07-28"
HOP_BY_HOP = {b"host", b"content-length", b"connection", b"transfer-encoding", b"keep-alive"}


@dataclass
class Forwarded:
    """One request the balancer passed on: to which replica, and which tool call it carried."""

    replica: int
    http_method: str
    method: str | None
    tool: str | None
    post_id: str | None
    confirm: bool
    answers: bool  # carries inputResponses (the retry of the multi-round-trip flow)


@dataclass
class RoundRobin:
    """A reverse proxy (ASGI) that sends each request to the next upstream in turn (tool calls
    in a turn of their own), streaming the answer back (JSON or an SSE stream) as it comes."""

    upstreams: list[str]
    forwarded: list[Forwarded] = field(default_factory=list)
    turns: dict[str, int] = field(default_factory=lambda: {"call": 0, "other": 0})
    client: httpx2.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.client = httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=120))
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.client is not None:
                        await self.client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert scope["type"] == "http" and self.client is not None
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        noted = self._note(scope["method"], body)
        # Tool calls take turns among themselves, and so does everything else (the client's own
        # tools/list, fetched once for output schemas), so consecutive calls never meet.
        kind = "call" if noted.method == "tools/call" else "other"
        replica = self.turns[kind] % len(self.upstreams)
        self.turns[kind] += 1
        self.forwarded.append(dataclasses.replace(noted, replica=replica))
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
        url = self.upstreams[replica] + scope["path"]
        request = self.client.build_request(scope["method"], url, headers=headers, content=body)
        response = await self.client.send(request, stream=True)
        try:
            kept = [
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in response.headers.multi_items()
                if k.lower().encode() not in HOP_BY_HOP
            ]
            await send({"type": "http.response.start", "status": response.status_code, "headers": kept})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()

    @staticmethod
    def _note(http_method: str, body: bytes) -> Forwarded:
        try:
            message = json.loads(body) if body else {}
        except ValueError:
            message = {}
        message = message if isinstance(message, dict) else {}
        params = message.get("params") or {}
        arguments = params.get("arguments") or {}
        return Forwarded(
            replica=-1,
            http_method=http_method,
            method=message.get("method"),
            tool=params.get("name") if message.get("method") == "tools/call" else None,
            post_id=arguments.get("post_id"),
            confirm="confirm" in arguments,
            answers="inputResponses" in params,
        )

    def calls_for(self, post_id: str) -> list[Forwarded]:
        return [f for f in self.forwarded if f.tool == "posts_delete" and f.post_id == post_id]


@contextmanager
def replicas(redis_url: str, base: str, journals: Path) -> Iterator[list[str]]:
    """Two stateless late-mcp processes on one Redis; their base URLs. The key never reaches their
    stderr."""
    ports = [free_port(), free_port()]
    procs = [
        start_replica(port, base, redis_url, journals / f"j{n}.sqlite3", stateless=True)
        for n, port in enumerate(ports)
    ]
    try:
        for port, proc in zip(ports, procs, strict=True):
            wait_for_port(port, proc)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            assert proc.stderr is not None
            assert TEST_KEY.encode() not in proc.stderr.read()


def drafts(state: SandboxState, count: int, label: str) -> list[str]:
    made = []
    for n in range(count):
        post = state.create_post(
            {
                "content": f"{label} {n}",
                "platforms": [{"platform": "twitter", "accountId": SEED_ACCOUNT_NORDIC_TWITTER}],
            }
        )
        made.append(str(post["_id"]))
    return made


def deletes(state: SandboxState, post_id: str) -> int:
    return sum(1 for method, path in state.requests if method == "DELETE" and path.endswith(post_id))


def text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def client(url: str, token: str, **options: Any) -> Client:
    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=120)
    )
    return Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=MODERN, **options)  # type: ignore[arg-type]


async def test_fifty_previews_confirmed_on_the_other_replica_each_act_exactly_once(
    redis_url: str, http_sandbox_app: tuple[str, SandboxState], tmp_path: Path
) -> None:
    base, state = http_sandbox_app
    tokens = RedisTokenStore(redis_url)
    try:
        alice = tokens.create("alice", (), False)
    finally:
        tokens.close()
    by_token = drafts(state, CYCLES, "Confirmed by token")
    asked_the_new_way = drafts(state, CYCLES, "Confirmed by the person")
    answered = asking("accept", confirm=True)
    with replicas(redis_url, base, tmp_path) as upstreams:
        balancer = RoundRobin(upstreams)
        with served(balancer) as front:
            wait_for_port(int(front.rsplit(":", 1)[1]))  # served() returns before uvicorn listens
            async with (
                client(front, alice) as plain,
                client(front, alice, elicitation_callback=answered) as asks,
            ):
                for post_id in by_token:
                    preview = await plain.call_tool("posts_delete", {"post_id": post_id})
                    token = structured(preview).get("confirm_token")
                    assert token, text(preview)
                    done = await plain.call_tool("posts_delete", {"post_id": post_id, "confirm": token})
                    assert not done.is_error and f"Deleted post {post_id}" in text(done), text(done)
                for post_id in asked_the_new_way:
                    done = await asks.call_tool("posts_delete", {"post_id": post_id})
                    assert not done.is_error and f"Deleted post {post_id}" in text(done), text(done)
    for post_id in by_token:
        preview, confirm = balancer.calls_for(post_id)
        assert not preview.confirm and confirm.confirm
        assert preview.replica != confirm.replica  # previewed on one replica, confirmed on the other
        assert deletes(state, post_id) == 1 and post_id not in state.posts
    for post_id in asked_the_new_way:
        first, retry = balancer.calls_for(post_id)
        assert not first.answers and retry.answers and not retry.confirm  # the state carries the token
        assert first.replica != retry.replica
        assert deletes(state, post_id) == 1 and post_id not in state.posts
    assert len(answered.asked) == CYCLES and all("delete draft post" in q for q in answered.asked)
    assert {f.replica for f in balancer.forwarded} == {0, 1}
