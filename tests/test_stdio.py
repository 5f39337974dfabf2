"""The real process: `python -m late_mcp` on stdio, talking real HTTP to a sandbox on loopback."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import TEST_KEY, structured_raw
from late_mcp.config.settings import DEFAULT_TOOLSETS
from late_mcp.sandbox import create_sandbox_app
from late_mcp.tools import ALL_TOOLS
from standin import served


@pytest.fixture
def http_sandbox() -> Iterator[str]:
    """The sandbox served by uvicorn on a free loopback port; yields its API base URL."""
    with served(create_sandbox_app(api_key=TEST_KEY)) as base:
        yield base + "/api"


def server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}
    env.update(extra)
    return env


class StdioSession:
    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "late_mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.raw_stdout: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.raw_stdout.append(line)
            self.lines.put(line)

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def request(self, request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        while True:
            message = json.loads(self.lines.get(timeout=60))
            if message.get("id") == request_id:
                return message  # type: ignore[no-any-return]

    def close(self) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        assert self.proc.stderr is not None
        return self.proc.stderr.read()


def test_stdout_carries_only_json_rpc(http_sandbox: str, tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    env = server_env(
        LATE_API_KEY=TEST_KEY,
        LATE_BASE_URL=http_sandbox,
        LATE_LOG_LEVEL="DEBUG",
        LATE_JOURNAL_PATH=str(journal),
    )
    session = StdioSession(env)
    init = session.request(
        1,
        "initialize",
        {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
    )
    assert init["result"]["serverInfo"]["name"] == "late-mcp"
    session.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    tools = session.request(2, "tools/list", {})["result"]["tools"]
    assert len(tools) == sum(spec.domain in DEFAULT_TOOLSETS for spec in ALL_TOOLS)  # the default toolsets
    profiles = session.request(3, "tools/call", {"name": "profiles_list", "arguments": {}})["result"]
    assert not profiles.get("isError") and "Acme Bakery" in profiles["content"][0]["text"]
    ambiguous = session.request(
        4,
        "tools/call",
        {"name": "posts_create", "arguments": {"content": "x", "accounts": ["twitter"], "publish_now": True}},
    )["result"]
    assert ambiguous["isError"] is True
    created = session.request(5, "tools/call", {"name": "profiles_create", "arguments": {"name": "Stdio"}})
    assert not created["result"].get("isError")
    stderr = session.close()
    assert session.raw_stdout, "no output at all"
    for line in session.raw_stdout:
        message = json.loads(line)
        assert message.get("jsonrpc") == "2.0", line
    assert TEST_KEY not in stderr and all(TEST_KEY not in line for line in session.raw_stdout)
    assert "late-mcp" in stderr  # DEBUG logging went to stderr
    assert journal.exists() and TEST_KEY.encode() not in journal.read_bytes()


def test_missing_key_exits_with_one_clear_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "late_mcp"],
        capture_output=True,
        text=True,
        env=server_env(),
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "LATE_API_KEY" in lines[0] and "--sandbox" in lines[0]
    assert "getlate.dev" in lines[0]


HALF_EMOJI_POST = (
    b'{"post":{"_id":"65a000000000000000000001","content":"Sale \\ud83d ends today","status":"draft",'
    b'"platforms":[{"platform":"twitter","accountId":"65b000000000000000000001","status":"pending"}]}}'
)


async def half_emoji_late(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A Late stand-in whose post text holds a lone UTF-16 surrogate, as `\\ud83d` in its JSON."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    body = {"/api/v1/accounts": b'{"accounts":[]}', "/api/v1/profiles": b'{"profiles":[]}'}.get(
        path, HALF_EMOJI_POST
    )
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def half_emoji_base() -> Iterator[str]:
    with served(half_emoji_late) as base:
        yield base + "/api"


def test_a_lone_surrogate_from_late_is_answered_over_stdio(half_emoji_base: str, tmp_path: Path) -> None:
    session = StdioSession(
        server_env(
            LATE_API_KEY=TEST_KEY,
            LATE_BASE_URL=half_emoji_base,
            LATE_JOURNAL_PATH=str(tmp_path / "j.sqlite3"),
        )
    )
    session.request(
        1,
        "initialize",
        {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
    )
    session.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    result = session.request(
        2, "tools/call", {"name": "posts_get", "arguments": {"post_id": "65a000000000000000000001"}}
    )["result"]
    assert not result.get("isError"), result
    assert structured_raw(result)["post"]["content"] == "Sale \ufffd ends today"
    assert session.request(3, "tools/list", {})["result"]["tools"]  # still serving
    stderr = session.close()
    assert "Traceback" not in stderr


def test_an_unusable_journal_is_one_stderr_line_and_refuses_writes(http_sandbox: str, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("I am a file")
    path = blocker / "journal.sqlite3"
    env = server_env(LATE_API_KEY=TEST_KEY, LATE_BASE_URL=http_sandbox, LATE_JOURNAL_PATH=str(path))
    session = StdioSession(env)
    session.request(
        1,
        "initialize",
        {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
    )
    session.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    refused = session.request(2, "tools/call", {"name": "profiles_create", "arguments": {"name": "Nope"}})
    listed = session.request(3, "tools/call", {"name": "profiles_list", "arguments": {}})
    stderr = session.close()
    assert refused["result"]["isError"] is True
    assert structured_raw(refused["result"])["error"]["kind"] == "journal_unavailable"
    assert "writes are refused until it works" in refused["result"]["content"][0]["text"]
    assert not listed["result"].get("isError") and "Acme Bakery" in listed["result"]["content"][0]["text"]
    lines = [line for line in stderr.splitlines() if "journal" in line]
    assert len(lines) == 1, stderr
    assert str(path) in lines[0] and "LATE_JOURNAL_PATH" in lines[0] and "write tool is refused" in lines[0]
