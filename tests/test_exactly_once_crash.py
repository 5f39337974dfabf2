"""Exactly once at the edges: a server killed mid-write (real processes, SIGKILL), writes that end at
their deadline while their reservation still holds, the same Idempotency-Key on every send of one
create, the whole sent form in the duplicate guard, and a journal that recovers by itself after a
full disk or a Redis outage while every journaled write is refused unsent.

Late's stand-in is the sandbox served over real HTTP (tests/standin.py), behind :class:`Holding`,
which holds chosen POSTs until the test lets them through, so a test can kill or time out the
server while Late still has the request.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp_types import CallToolResult
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conftest import TEST_KEY, call, make_settings, ok, structured, text
from late_mcp.safety import records as records_module
from late_mcp.safety import sqlite_journal as journal_module
from late_mcp.safety.records import JournalError
from late_mcp.safety.redis_journal import RedisJournal
from late_mcp.safety.reservations import ReservationDesk
from late_mcp.safety.sqlite_journal import Journal
from late_mcp.sandbox import SandboxState, create_sandbox_app
from late_mcp.sandbox.state import SEED_ACCOUNT_ACME_INSTAGRAM, SEED_ACCOUNT_ACME_TWITTER
from late_mcp.server.build import build_server
from standin import served
from test_redis import free_port, wait_for_port
from test_stdio import server_env

pytestmark = pytest.mark.anyio
LATER = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
DRAFT = {"content": "Crash-proof launch", "accounts": [SEED_ACCOUNT_ACME_TWITTER], "is_draft": True}
HOLD_STEPS = 6_000  # 60 s at most, in 10 ms steps


class Holding:
    """ASGI, in front of the sandbox: POSTs whose path starts with one of ``paths`` are recorded
    (path, Idempotency-Key), read whole, and held until :attr:`release` is set; then Late acts on
    them, even if the client has gone. A second POST whose key is still held gets 409, as Late
    answers a key whose first request is in flight."""

    def __init__(self, app: ASGIApp, *paths: str) -> None:
        self.app, self.paths = app, paths
        self.release = threading.Event()
        self.arrived = threading.Event()
        self.sent: list[tuple[str, str | None]] = []
        self.held = 0  # requests that went into the hold
        self.handled = 0  # of those, the ones Late has acted on
        self._in_flight: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(self.paths):
            await self.app(scope, receive, send)
            return
        key = dict(scope["headers"]).get(b"idempotency-key")
        idempotency_key = key.decode() if key is not None else None
        self.sent.append((scope["path"], idempotency_key))
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        if idempotency_key is not None and idempotency_key in self._in_flight:
            busy = JSONResponse({"error": "A request with this Idempotency-Key is in progress"}, 409)
            await busy(scope, receive, send)
            return
        if idempotency_key is not None:
            self._in_flight.add(idempotency_key)
        self.held += 1
        self.arrived.set()
        try:
            for _ in range(HOLD_STEPS):
                if self.release.is_set():
                    break
                await anyio.sleep(0.01)
            once: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

            async def replay() -> Message:
                return once.pop() if once else {"type": "http.disconnect"}

            await self.app(scope, replay, send)
        finally:
            self._in_flight.discard(idempotency_key or "")
            self.handled += 1

    def count(self, prefix: str) -> int:
        return sum(1 for path, _ in self.sent if path.startswith(prefix))


@pytest.fixture
def holding_late() -> Iterator[tuple[str, Holding, SandboxState]]:
    """The sandbox over real HTTP, creates and comment replies held until released."""
    app = create_sandbox_app(api_key=TEST_KEY)
    holding = Holding(app, "/api/v1/posts", "/api/v1/inbox/comments/")
    with served(holding) as base:
        yield base + "/api", holding, app.state.late
    holding.release.set()  # nothing stays held when the stand-in stops


@pytest.fixture(scope="module")
def redis_exe() -> str:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    return exe


@pytest.fixture
def redis_url(redis_exe: str) -> Iterator[str]:
    """A redis-server of this test's own."""
    with redis_process(redis_exe, free_port()) as url:
        yield url


class redis_process:
    """A redis-server on ``port`` (no persistence), stopped at the end of the block."""

    def __init__(self, exe: str, port: int) -> None:
        args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"redis://127.0.0.1:{port}/0"
        wait_for_port(port, self.proc)

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def backends(tmp_path: Path, redis_url: str | None) -> dict[str, str]:
    """Where a process keeps its journal: a SQLite file, or a Redis every replica shares."""
    env = {"LATE_JOURNAL_PATH": str(tmp_path / "journal.sqlite3")}
    if redis_url is not None:
        env["LATE_MCP_REDIS_URL"] = redis_url
    return env


# -- a server killed mid-write -------------------------------------------------------------------


def cli_call(base: str, store: dict[str, str], tool: str, arguments: dict[str, Any]) -> subprocess.Popen[str]:
    """`late-mcp call` in a process of its own: one server, one call, killable."""
    env = server_env(
        LATE_API_KEY=TEST_KEY, LATE_BASE_URL=base, LATE_TOOLSETS="all", LATE_CALL_DEADLINE="2", **store
    )
    command = [sys.executable, "-m", "late_mcp", "call", tool, "--args", json.dumps(arguments), "--json"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def outcome(proc: subprocess.Popen[str]) -> tuple[dict[str, Any], str]:
    """The structured result and the error text (empty when the call succeeded)."""
    out, err = proc.communicate(timeout=90)
    assert TEST_KEY not in out + err
    return json.loads(out), err if proc.returncode else ""


def killed_mid_write(
    base: str, store: dict[str, str], holding: Holding, tool: str, args: dict[str, Any]
) -> None:
    """Start the call, wait until Late holds its request, SIGKILL the process: it recorded nothing."""
    proc = cli_call(base, store, tool, args)
    try:
        assert holding.arrived.wait(60), "the write never reached Late"
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode == -9


def retried(base: str, store: dict[str, str], tool: str, args: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The same call again from new processes until the dead call's reservation has expired (each
    try waits for it up to its deadline, then answers in_progress)."""
    for _ in range(10):
        data, err = outcome(cli_call(base, store, tool, args))
        if data.get("error", {}).get("kind") != "in_progress":
            return data, err
        assert "Another identical" in err
    raise AssertionError("the dead call's reservation never expired")


def let_through(holding: Holding) -> None:
    """Let the held requests through and wait until Late has acted on all of them."""
    holding.release.set()
    for _ in range(3_000):
        if holding.held and holding.handled == holding.held:
            return
        threading.Event().wait(0.01)
    raise AssertionError("Late never handled the held request")


@pytest.mark.parametrize("shared", ["sqlite", "redis"])
def test_a_reply_whose_server_was_killed_is_not_sent_again(
    shared: str,
    holding_late: tuple[str, Holding, SandboxState],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    base, holding, state = holding_late
    store = backends(tmp_path, request.getfixturevalue("redis_url") if shared == "redis" else None)
    post_id = state.commented_posts({"accountId": SEED_ACCOUNT_ACME_INSTAGRAM})["data"][0]["id"]
    comment_id = state.comments[post_id][0]["id"]
    args = {
        "post_id": post_id,
        "comment_id": comment_id,
        "account_id": SEED_ACCOUNT_ACME_INSTAGRAM,
        "text": "Open 8 to 14 on Sundays!",
        "idempotency_key": "reply-crash-0001",
    }
    killed_mid_write(base, store, holding, "comments_reply", args)
    let_through(holding)  # Late acted on it; nobody heard the answer
    data, err = retried(base, store, "comments_reply", args)
    assert data["error"]["kind"] == "idempotency"
    assert "Not sent: an earlier comments_reply call with idempotency_key 'reply-crash-0001'" in err
    assert "may have reached Late" in err and "Check with comments_list" in err
    assert "repeat with a new idempotency_key" in err
    assert holding.count("/api/v1/inbox/comments/") == 1
    assert len(state.comments[post_id][0]["replies"]) == 1
    again, err = outcome(cli_call(base, store, "comments_reply", args))  # stays refused, says why
    assert again["error"]["kind"] == "idempotency" and "outcome is unknown" in err
    assert holding.count("/api/v1/inbox/comments/") == 1


@pytest.mark.parametrize("shared", ["sqlite", "redis"])
def test_a_post_whose_server_was_killed_is_looked_up_not_sent_again(
    shared: str,
    holding_late: tuple[str, Holding, SandboxState],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    base, holding, state = holding_late
    store = backends(tmp_path, request.getfixturevalue("redis_url") if shared == "redis" else None)
    # allow_duplicate skips the fingerprint guard: only the idempotency_key stands between a retry
    # and a second post.
    args = {**DRAFT, "allow_duplicate": True, "idempotency_key": "post-crash-0001"}
    killed_mid_write(base, store, holding, "posts_create", args)
    let_through(holding)
    data, err = retried(base, store, "posts_create", args)
    assert not err, err
    assert data["note"] == "recovered"
    assert holding.count("/api/v1/posts") == 1
    made = [p for p in state.posts.values() if p["content"] == DRAFT["content"]]
    assert len(made) == 1 and data["post"]["id"] == made[0]["_id"]


def test_a_create_still_at_late_is_resent_with_its_first_key_only(
    holding_late: tuple[str, Holding, SandboxState], tmp_path: Path
) -> None:
    """Killed while Late still works on the create: the retry finds nothing, sends again with the
    dead call's Idempotency-Key (Late: still in progress), and the post is found once it lands."""
    base, holding, state = holding_late
    store = backends(tmp_path, None)
    args = {**DRAFT, "idempotency_key": "post-crash-0002"}
    killed_mid_write(base, store, holding, "posts_create", args)
    data, err = retried(base, store, "posts_create", args)  # the first create is still held
    assert data["error"]["kind"] == "still_processing" and data["error"]["outcome_unknown"] is True
    assert "still processing an earlier send of this same post" in err
    keys = [key for path, key in holding.sent if path == "/api/v1/posts"]
    assert len(keys) == 2 and keys[0] is not None and keys[0].startswith("late-mcp-") and keys[1] == keys[0]
    let_through(holding)
    found, err = outcome(cli_call(base, store, "posts_create", args))
    assert not err, err
    assert found["note"] == "recovered"
    assert [p["_id"] for p in state.posts.values() if p["content"] == DRAFT["content"]] == [
        found["post"]["id"]
    ]
    assert holding.count("/api/v1/posts") == 2


# -- a hard deadline below the reservation's lifetime ------------------------------------------------


@asynccontextmanager
async def replica(base: str, store: dict[str, str], **settings: Any) -> AsyncIterator[Client]:
    """A server of its own (its own Late client, journal and reservation desk) on the shared store."""
    shared: dict[str, Any] = {"journal_path": Path(store["LATE_JOURNAL_PATH"])}
    if "LATE_MCP_REDIS_URL" in store:
        shared["redis_url"] = store["LATE_MCP_REDIS_URL"]
    server = build_server(dataclasses.replace(make_settings(**shared, **settings), base_url=base))
    async with Client(server, mode="legacy") as client:
        yield client


def kind(result: CallToolResult) -> str:
    assert result.is_error, text(result)
    return str(structured(result)["error"]["kind"])


@pytest.mark.parametrize("shared", ["sqlite", "redis"])
async def test_a_write_ends_at_its_deadline_and_is_never_taken_over_while_it_runs(
    shared: str,
    holding_late: tuple[str, Holding, SandboxState],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    base, holding, state = holding_late
    store = backends(tmp_path, request.getfixturevalue("redis_url") if shared == "redis" else None)
    first: list[CallToolResult] = []
    meanwhile: list[CallToolResult] = []
    async with (
        replica(base, store, call_deadline=2, read_timeout=20) as one,
        replica(base, store, call_deadline=0.5, read_timeout=20) as two,
    ):

        async def slow_write() -> None:
            first.append(await call(one, "posts_create", **DRAFT))

        async with anyio.create_task_group() as tg:
            tg.start_soon(slow_write)
            assert await anyio.to_thread.run_sync(holding.arrived.wait, 60)
            while not first:  # every retry while the first call runs is told it is in progress
                meanwhile.append(await call(two, "posts_create", **DRAFT))
        assert meanwhile and kind(meanwhile[0]) == "in_progress"
        assert "Another identical posts_create call is running" in text(meanwhile[0])
        assert all(kind(r) in {"in_progress", "still_processing", "deadline"} for r in meanwhile), [
            text(r) for r in meanwhile
        ]
        assert not holding.release.is_set() and holding.handled == 0  # Late is still working on it
        (stopped,) = first
        assert kind(stopped) == "timeout" and structured(stopped)["error"]["outcome_unknown"]
        assert "stopped at its deadline (LATE_CALL_DEADLINE)" in text(stopped)
        assert "do not repeat it blindly" in text(stopped)
        keys = {key for path, key in holding.sent if path == "/api/v1/posts"}
        assert len(keys) == 1 and None not in keys  # any resend carried the first send's key
        await anyio.to_thread.run_sync(let_through, holding)
        found = await ok(two, "posts_create", **DRAFT)
    assert found["note"] == "recovered"
    assert [p["_id"] for p in state.posts.values() if p["content"] == DRAFT["content"]] == [
        found["post"]["id"]
    ]


async def test_redis_judges_expiry_by_its_own_clock(redis_url: str) -> None:
    ahead = RedisJournal(redis_url, clock=lambda: datetime.now(UTC) + timedelta(minutes=10))
    behind = RedisJournal(redis_url, clock=lambda: datetime.now(UTC) - timedelta(minutes=10))
    right = RedisJournal(redis_url)
    within = timedelta(minutes=30)
    common: dict[str, Any] = {"tool": "posts_create", "digest": "fp", "within": within}
    try:
        held = await right.reserve("post", "fp", owner="a", ttl=60, **common)
        assert held.state == "mine"
        # A replica whose clock is 10 minutes ahead sees a live reservation, not an expired one.
        assert (await ahead.reserve("post", "fp", owner="b", ttl=60, **common)).state == "busy"
        await right.release("post", "fp", owner="a")
        # One whose clock is behind cannot hold a reservation past its time either.
        await behind.reserve("post", "short", owner="c", ttl=0, **common)
        taken = await right.reserve("post", "short", owner="d", ttl=60, **common)
        assert (taken.state, taken.suspect) == ("mine", True)
        assert abs(datetime.fromisoformat(taken.at) - datetime.now(UTC)) < timedelta(minutes=1)
    finally:
        for journal in (ahead, behind, right):
            await journal.aclose()


# -- Late's Idempotency-Key -------------------------------------------------------------------------


async def test_the_sandbox_honours_idempotency_keys_like_late() -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    body = {"content": "Once", "platforms": [{"platform": "twitter", "accountId": SEED_ACCOUNT_ACME_TWITTER}]}
    headers = {"Authorization": f"Bearer {TEST_KEY}", "Idempotency-Key": "k-0001"}
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://late.test"
    ) as http:
        first = await http.post("/api/v1/posts", json={**body, "isDraft": True}, headers=headers)
        again = await http.post("/api/v1/posts", json={**body, "isDraft": True}, headers=headers)
        other = await http.post(
            "/api/v1/posts", json={**body, "content": "Other", "isDraft": True}, headers=headers
        )
        fresh = await http.post(
            "/api/v1/posts", json={**body, "isDraft": True}, headers=headers | {"Idempotency-Key": "k-0002"}
        )
    assert first.status_code == again.status_code == 201
    assert again.json()["post"]["_id"] == first.json()["post"]["_id"]
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert other.status_code == 422 and "different request body" in other.json()["error"]
    assert fresh.json()["post"]["_id"] != first.json()["post"]["_id"]
    assert sum(1 for p in app.state.late.posts.values() if p["content"] == "Once") == 2


class DropsFirstCreate(httpx2.AsyncBaseTransport):
    """The first create times out before it reaches Late (the client cannot tell); records every
    create's Idempotency-Key."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx2.ASGITransport(app=app)
        self.keys: list[str | None] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST" and request.url.path.endswith("/v1/posts"):
            self.keys.append(request.headers.get("Idempotency-Key"))
            if len(self.keys) == 1:
                raise httpx2.ReadTimeout("no answer (injected)", request=request)
        return await self.inner.handle_async_request(request)


async def test_every_send_of_one_create_carries_one_idempotency_key() -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    transport = DropsFirstCreate(app)
    async with Client(build_server(make_settings(), transport=transport), mode="legacy") as client:
        made = await ok(client, "posts_create", **DRAFT)
        other = await ok(client, "posts_create", **{**DRAFT, "content": "Another post"})
    assert "note" not in made and "note" not in other
    first, resend, new = transport.keys
    assert first is not None and first.startswith("late-mcp-") and resend == first and new != first
    assert sum(1 for p in app.state.late.posts.values() if p["content"] == DRAFT["content"]) == 1


# -- the whole sent form in the duplicate guard -------------------------------------------------------

SCHEDULED = {
    "content": "Spring menu is here",
    "accounts": [SEED_ACCOUNT_ACME_TWITTER],
    "scheduled_for": LATER.isoformat(),
}


async def test_an_identical_post_is_a_duplicate_and_a_corrected_one_is_named_not_dropped(
    mcp: Client, state: SandboxState
) -> None:
    first = await ok(mcp, "posts_create", **SCHEDULED, custom_content={"twitter": "Spring menu, X edition"})
    post_id = first["post"]["id"]
    same = await ok(mcp, "posts_create", **SCHEDULED, custom_content={"twitter": "Spring menu, X edition"})
    assert same["note"] == "duplicate" and same["post"]["id"] == post_id
    corrected = await call(
        mcp, "posts_create", **SCHEDULED, custom_content={"twitter": "Spring menu (fixed)"}
    )
    threaded = await call(mcp, "posts_create", **SCHEDULED, options={"twitter": {"thread": ["Part two"]}})
    for answer in (corrected, threaded):
        assert kind(answer) == "invalid_argument"
        message = text(answer)
        assert f"Not sent: post {post_id} (scheduled" in message and "was sent with other settings" in message
        assert f"posts_update post_id={post_id}" in message and "posts_delete it, then repeat" in message
        assert "allow_duplicate=true" in message
    assert [p["_id"] for p in state.posts.values() if p["content"] == SCHEDULED["content"]] == [post_id]
    both = await ok(
        mcp,
        "posts_create",
        **SCHEDULED,
        custom_content={"twitter": "Spring menu (fixed)"},
        allow_duplicate=True,
    )
    assert both["post"]["id"] != post_id
    assert state.posts[both["post"]["id"]]["platforms"][0]["customContent"] == "Spring menu (fixed)"


async def test_racing_corrections_make_one_post_and_name_it(mcp: Client, state: SandboxState) -> None:
    results: list[CallToolResult] = []

    async def one(n: int) -> None:
        results.append(
            await call(mcp, "posts_create", **SCHEDULED, custom_content={"twitter": f"Version {n % 2}"})
        )

    async with anyio.create_task_group() as tg:
        for n in range(6):
            tg.start_soon(one, n)
    made = [p for p in state.posts.values() if p["content"] == SCHEDULED["content"]]
    assert len(made) == 1
    post_id = made[0]["_id"]
    sent = made[0]["platforms"][0]["customContent"]
    for result in results:
        if result.is_error:
            assert f"Not sent: post {post_id}" in text(result), text(result)
        else:
            assert structured(result)["post"]["id"] == post_id
    assert sum(not r.is_error for r in results) == 3  # the three calls of the version that was sent
    assert sent in {"Version 0", "Version 1"}


# -- a journal that breaks and recovers ---------------------------------------------------------------


@pytest.fixture
def fast_recovery(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records_module, "RECOVER_FIRST", 0.05)
    monkeypatch.setattr(records_module, "RECOVER_MAX", 0.2)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB file system of its own (tmpfs), unmounted afterwards."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()})")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full."""
    filler = disk / "filler"
    chunk = b"x" * 4096
    with filler.open("wb", buffering=0) as out:
        try:
            for _ in range(1_000):
                out.write(chunk)
        except OSError:
            return filler
    raise AssertionError("the disk never filled")


async def writes_while_broken(client: Client, state: SandboxState) -> list[CallToolResult]:
    """Every kind of journaled write at once: each must be refused before anything is sent."""
    post_id = state.commented_posts({"accountId": SEED_ACCOUNT_ACME_INSTAGRAM})["data"][0]["id"]
    calls: list[tuple[str, dict[str, Any]]] = [
        ("profiles_create", {"name": "Written while broken"}),
        ("profiles_create", {"name": "Keyed while broken", "idempotency_key": "broken-key-01"}),
        ("posts_create", {**DRAFT, "content": "Post while broken"}),
        (
            "comments_reply",
            {
                "post_id": post_id,
                "comment_id": state.comments[post_id][0]["id"],
                "account_id": SEED_ACCOUNT_ACME_INSTAGRAM,
                "text": "Reply while broken",
            },
        ),
    ]
    results: list[CallToolResult] = []

    async def one(tool: str, arguments: dict[str, Any]) -> None:
        results.append(await call(client, tool, **arguments))

    async with anyio.create_task_group() as tg:
        for tool, arguments in calls:
            tg.start_soon(one, tool, arguments)
    return results


def written(state: SandboxState) -> list[tuple[str, str]]:
    return [r for r in state.requests if r[0] != "GET"]


async def until_accepted(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """Repeat a write while the journal is still refusing it (it retries after a short backoff)."""
    for _ in range(200):
        result = await call(client, tool, **arguments)
        if not result.is_error:
            return structured(result) or {}
        assert kind(result) == "journal_unavailable", text(result)
        await anyio.sleep(0.05)
    raise AssertionError("the journal never recovered")


def assert_refused_unsent(results: list[CallToolResult], state: SandboxState, before: int) -> None:
    assert len(results) == 4
    assert written(state)[before:] == []  # nothing reached Late
    for result in results:
        assert kind(result) == "journal_unavailable", text(result)
        assert "nothing was sent" in text(result) and "resume by themselves" in text(result)


async def test_a_full_disk_refuses_every_write_unsent_and_recovers_without_restart(
    tiny_disk: Path, fast_recovery: None
) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    state: SandboxState = app.state.late
    server = build_server(
        make_settings(journal_path=tiny_disk / "journal.sqlite3"), transport=httpx2.ASGITransport(app=app)
    )
    async with Client(server, mode="legacy") as client:
        await ok(client, "profiles_create", name="Before the disk filled")
        filler = fill(tiny_disk)
        before = len(written(state))
        assert_refused_unsent(await writes_while_broken(client, state), state, before)
        await ok(client, "profiles_list")  # reads go on
        filler.unlink()
        made = await until_accepted(client, "profiles_create", name="After the disk had room")
        assert made["profile"]["name"] == "After the disk had room"
        entries = (await ok(client, "journal_recent", tool_name="profiles_create"))["entries"]
    assert len(entries) == 2 and all(e["outcome"] == "ok" for e in entries)
    assert sum(1 for p in state.profiles.values() if "broken" in p["name"]) == 0


async def test_a_redis_outage_refuses_every_write_unsent_and_recovers_without_restart(
    redis_exe: str, fast_recovery: None
) -> None:
    port = free_port()
    app = create_sandbox_app(api_key=TEST_KEY)
    state: SandboxState = app.state.late
    cache = redis_process(redis_exe, port)
    try:
        server = build_server(make_settings(redis_url=cache.url), transport=httpx2.ASGITransport(app=app))
        async with Client(server, mode="legacy") as client:
            await ok(client, "profiles_create", name="Before the outage")
            cache.stop()
            before = len(written(state))
            assert_refused_unsent(await writes_while_broken(client, state), state, before)
            cache = redis_process(redis_exe, port)  # Redis is back, empty (no persistence)
            made = await until_accepted(client, "profiles_create", name="After the outage")
            assert made["profile"]["name"] == "After the outage"
            entries = (await ok(client, "journal_recent", tool_name="profiles_create"))["entries"]
        assert [e["outcome"] for e in entries] == ["ok"]  # written after Redis came back
        assert sum(1 for p in state.profiles.values() if "broken" in p["name"]) == 0
    finally:
        cache.stop()


async def test_a_failed_commit_leaves_the_key_held_and_breaks_the_journal_on_redis(
    redis_exe: str, fast_recovery: None
) -> None:
    port = free_port()
    cache = redis_process(redis_exe, port)
    journal = RedisJournal(cache.url)
    try:
        desk = ReservationDesk(journal, call_deadline=5)
        async with desk.hold(
            "idempotency", "k-commit", tool="t", digest="d", within=timedelta(days=1)
        ) as ticket:
            assert ticket.holding
            cache.stop()
            with pytest.raises(JournalError, match="recording a result"):
                await ticket.commit("the result")
            assert ticket.holding and ticket.claim.state == "mine"  # not done: the store never had it
            assert journal.failure is not None and "LATE_MCP_REDIS_URL" in str(journal.failure)
        cache = redis_process(redis_exe, port)
        for _ in range(100):
            if await journal.recover() is None:
                break
            await anyio.sleep(0.05)
        assert journal.failure is None
    finally:
        await journal.aclose()
        cache.stop()


async def test_a_failed_commit_leaves_the_key_held_on_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal()
    desk = ReservationDesk(journal, call_deadline=5)
    async with desk.hold("idempotency", "k-commit", tool="t", digest="d", within=timedelta(days=1)) as ticket:
        monkeypatch.setitem(journal_module._STORE, "idempotency", "INSERT INTO no_such_table VALUES (?)")
        with pytest.raises(JournalError, match="no_such_table"):
            await ticket.commit("the result")
        assert ticket.holding and ticket.claim.state == "mine"
    assert journal.failure is not None
    await journal.aclose()
