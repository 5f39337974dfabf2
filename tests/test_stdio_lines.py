"""Every stdin line gets an answer: the real `python -m late_mcp` process, fed malformed lines.

Each bad line must come back as a JSON-RPC error with the right code and the request's id (when it
can be recovered), and the server must go on serving the next request.
"""

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

from conftest import structured_raw
from late_mcp.transports import stdio
from late_mcp.transports.rpcline import MAX_DEPTH, check_line

PARSE_ERROR, INVALID_REQUEST = -32700, -32600


def call(request_id: int, tool: str, arguments_json: str) -> bytes:
    return b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"%s","arguments":%s}}' % (
        request_id,
        tool.encode(),
        arguments_json.encode(),
    )


# (line, expected code, expected ids of the error answers)
MALFORMED: dict[str, tuple[bytes, int, list[int | None]]] = {
    "lone surrogate escape": (call(11, "profiles_create", '{"name":"\\ud800"}'), PARSE_ERROR, [11]),
    "deep nesting": (call(12, "profiles_list", '{"a":' + "[" * 300 + "]" * 300 + "}"), PARSE_ERROR, [12]),
    "5000-digit number": (call(13, "profiles_list", '{"n":' + "7" * 5000 + "}"), PARSE_ERROR, [13]),
    "jsonrpc 1.0": (b'{"jsonrpc":"1.0","id":14,"method":"tools/list"}', INVALID_REQUEST, [14]),
    "params as an array": (
        b'{"jsonrpc":"2.0","id":15,"method":"tools/list","params":[]}',
        INVALID_REQUEST,
        [15],
    ),
    "batch": (
        b'[{"jsonrpc":"2.0","id":16,"method":"tools/list"},{"jsonrpc":"2.0","id":"b17","method":"ping"}]',
        INVALID_REQUEST,
        [16, "b17"],  # type: ignore[list-item]
    ),
    "invalid JSON": (b'{"jsonrpc":"2.0","id":18,"method":"tools/list",', PARSE_ERROR, [18]),
    "invalid UTF-8": (
        call(19, "profiles_create", '{"name":"Caf\xe9 X"}').replace(b"\xc3\xa9", b"\xe9"),
        PARSE_ERROR,
        [19],
    ),
    "not JSON at all": (b"hello there", PARSE_ERROR, [None]),
    "a fractional id": (b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}', INVALID_REQUEST, [None]),
    "NaN": (call(20, "profiles_list", '{"n":NaN}'), PARSE_ERROR, [20]),
    "no method": (b'{"jsonrpc":"2.0","id":21}', INVALID_REQUEST, [21]),
}


class RawStdio:
    """`python -m late_mcp --sandbox` with byte-level access to its stdin and stdout."""

    def __init__(self, tmp_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}
        env |= {"LATE_SANDBOX": "on", "LATE_JOURNAL_PATH": str(tmp_path / "journal.sqlite3")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "late_mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def send(self, raw: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(raw + b"\n")
        self.proc.stdin.flush()

    def receive(self) -> dict[str, Any]:
        message = json.loads(self.lines.get(timeout=60))
        assert isinstance(message, dict) and message.get("jsonrpc") == "2.0", message
        return message

    def request(self, request_id: int, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.send(
            json.dumps(
                {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}}
            ).encode()
        )
        message = self.receive()
        assert message.get("id") == request_id, message
        return message

    def close(self) -> str:
        assert self.proc.stdin is not None and self.proc.stderr is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return self.proc.stderr.read().decode("utf-8", "replace")


def started(tmp_path: Path, capabilities: dict[str, Any]) -> RawStdio:
    session = RawStdio(tmp_path)
    init = session.request(
        1,
        "initialize",
        {
            "protocolVersion": "2025-06-18",
            "capabilities": capabilities,
            "clientInfo": {"name": "t", "version": "1"},
        },
    )
    assert init["result"]["serverInfo"]["name"] == "late-mcp"
    session.send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}')
    return session


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RawStdio]:
    session = started(tmp_path, {})
    yield session
    stderr = session.close()
    assert "Traceback" not in stderr, stderr
    assert session.lines.empty(), "unexpected extra output"


def test_every_malformed_line_is_answered_and_the_server_keeps_serving(server: RawStdio) -> None:
    next_id = 100
    for name, (line, code, ids) in MALFORMED.items():
        server.send(line)
        answers = [server.receive() for _ in ids]
        assert [a["id"] for a in answers] == ids, name
        for answer in answers:
            assert answer["error"]["code"] == code, (name, answer)
            assert "result" not in answer
        next_id += 1
        tools = server.request(next_id, "tools/list")  # still serving, in order
        assert tools["result"]["tools"], name
    listed = server.request(999, "tools/call", {"name": "profiles_list", "arguments": {}})["result"]
    text = listed["content"][0]["text"]
    assert not listed.get("isError") and "Caf" not in text  # the invalid UTF-8 name was never created


def test_blank_lines_are_ignored_and_good_lines_after_them_answered(server: RawStdio) -> None:
    server.send(b"")
    server.send(b"   \r")
    assert server.request(5, "ping")["result"] == {}


def test_the_servers_requests_and_the_clients_answers_pass_through(tmp_path: Path) -> None:
    """media_upload_file asks the client for its roots over stdio; the answer comes back in."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(500))
    session = started(tmp_path, {"roots": {"listChanged": False}})
    session.send(call(2, "media_upload_file", json.dumps({"path": str(project / "a.png")})))
    asked = session.receive()
    assert asked["method"] == "roots/list", asked
    answer = {"jsonrpc": "2.0", "id": asked["id"], "result": {"roots": [{"uri": project.as_uri()}]}}
    session.send(json.dumps(answer).encode())
    result = session.receive()
    assert result["id"] == 2 and not result["result"].get("isError"), result
    assert structured_raw(result["result"])["size_bytes"] == 508
    assert "Traceback" not in session.close()


def test_check_line_limits() -> None:
    ok_depth = b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":' + b"[" * 50 + b"]" * 50 + b"}}"
    assert not isinstance(check_line(ok_depth), list)
    too_deep = (
        b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}}"
    )
    refused = check_line(too_deep)
    assert isinstance(refused, list) and refused[0].error.code == PARSE_ERROR and refused[0].id == 1
    brackets_in_text = b'{"jsonrpc":"2.0","id":2,"method":"x","params":{"a":"' + b"[" * 500 + b'"}}'
    assert not isinstance(check_line(brackets_in_text), list)  # brackets inside strings do not count
    emoji = b'{"jsonrpc":"2.0","id":3,"method":"x","params":{"a":"\\ud83d\\ude00 ok"}}'
    assert not isinstance(check_line(emoji), list)  # a complete surrogate pair is a character
    assert check_line(b"  \n") is None
    client_error = b'{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"no roots"}}'
    assert not isinstance(check_line(client_error), list)  # a valid response, passed on
    assert check_line(b'{"jsonrpc":"2.0","id":7,"result":5}') == []  # a malformed response: not answered


def test_the_sdks_transport_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    class OnlyPublicRun:  # a server without the object our transport drives
        def run(self, transport: str) -> None:
            ran.append(transport)

    stdio.run_stdio(OnlyPublicRun())  # type: ignore[arg-type]

    def cannot_claim() -> tuple[int, int, int, int]:
        raise stdio._CannotRun("no descriptors")

    monkeypatch.setattr(stdio, "_claim_std_fds", cannot_claim)

    class WithLowlevel(OnlyPublicRun):
        _lowlevel_server = object.__new__(
            type(
                "Lowlevel", (), {"run": lambda self: None, "create_initialization_options": lambda self: None}
            )
        )

    stdio.run_stdio(WithLowlevel())  # type: ignore[arg-type]
    assert ran == ["stdio", "stdio"]
