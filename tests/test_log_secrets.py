"""No form of the Late key reaches any log, tool result, journal or log notification.

A Late-compatible endpoint on a real loopback socket repeats the key it is sent in every form it
can: whole, the first 40 characters, 63 of the 64 secret characters, upper case, base64 of the
key and of `Bearer <key>` (also URL-safe and at another byte alignment), in response headers, in
the reason phrase, and in JSON bodies. late-mcp runs as its own process with
`LATE_LOG_LEVEL=debug`, so every logger (httpcore2's raw header traces, httpx2, uvicorn, mcp)
writes to its stderr, and `key_variants` (conftest) looks for the key there by decoding, not by
the server's own scrubber.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import signal
import socketserver
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, LoggingMessageNotificationParams

from conftest import TEST_KEY, key_variants, make_settings
from late_mcp.late.client import LateClient
from late_mcp.server.build import build_server
from test_http_transports import free_port, healthy
from test_stdio import server_env

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
]

# A key that looks like a real one (no repeating pattern, so every base64 alignment differs).
KEY = "sk_" + hashlib.sha256(b"late-mcp echoing endpoint").hexdigest()
SECRET = KEY[3:]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


VARIANTS = {
    "whole": KEY,
    "first 40": KEY[:40],
    "63 of 64": "sk_" + SECRET[:63],
    "last 63": SECRET[1:],
    "upper case": KEY.upper(),
    "14 in the middle": SECRET[25:39],
    "base64": b64(KEY),
    "base64 of Bearer key": b64(f"Bearer {KEY}"),
    "base64, another alignment": b64(f"Auth {KEY}"),
    "URL-safe base64 of Bearer key": base64.urlsafe_b64encode(f"Bearer {KEY}".encode()).decode(),
}


def test_the_oracle_sees_every_variant() -> None:
    """key_variants must find each form by itself, or the scans below prove nothing."""
    for name, value in VARIANTS.items():
        assert key_variants(f"x {value} y", KEY), name
    assert key_variants("64b000000000000000000001 Team Bakery c2tfZm9v", KEY) == []


def test_the_scrubber_removes_every_variant_wherever_it_sits() -> None:
    from late_mcp.late.keyscrub import KeyScrubber

    scrub = KeyScrubber([KEY])
    for name, value in VARIANTS.items():
        for around in ("{}", "id={}&x=1", '"{}"', "aB3{}Zz9", "{}{}"):
            text = around.format(value, value)
            assert key_variants(scrub(text), KEY) == [], (name, around, scrub(text))
    assert scrub(f"Key {KEY} refused") == "Key [redacted] refused"
    untouched = "post 64b000000000000000000001 by @acme_bakery_official, YWJjZGVmZ2hpamtsbW5vcA=="
    assert scrub(untouched) is untouched


async def test_json_escapes_cannot_spell_the_key_past_the_scrubber() -> None:
    """The client scans an answer's text once instead of every string in it, unless the text has
    escapes that could spell the key out: all of it as `\\u0073…`, or one hex digit escaped."""
    spelled = "".join(f"\\u{ord(ch):04x}" for ch in KEY)
    one_digit = f"{KEY[:20]}\\u{ord(KEY[20]):04x}{KEY[21:]}"
    names = [f"Team {spelled}", f"Digit {one_digit}", f"Plain {KEY[:30]}"]
    body = (
        '{"profiles":[' + ",".join(f'{{"_id":"p{n}","name":"{name}"}}' for n, name in enumerate(names)) + "]}"
    )

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=body.encode(), headers={"Content-Type": "application/json"})

    settings = make_settings(api_key=KEY, retry_attempts=1)
    async with LateClient(settings, transport=httpx2.MockTransport(answer)) as client:
        profiles = await client.list_profiles()
    shown = [p.name for p in profiles]
    assert shown == ["Team [redacted]", "Digit [redacted]", "Plain [redacted]"], shown
    assert all(key_variants(name, KEY) == [] for name in shown), shown


class _EchoHandler(socketserver.StreamRequestHandler):
    """One HTTP/1.1 request per connection, answered by hand so the reason phrase can be anything."""

    def handle(self) -> None:
        request_line = self.rfile.readline().decode("latin-1").split()
        if len(request_line) < 2:
            return
        method, target = request_line[0], request_line[1]
        headers: dict[str, str] = {}
        while (line := self.rfile.readline().decode("latin-1").strip()) != "":
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self.rfile.read(int(headers.get("content-length") or 0))
        status, reason, body, content_type = self.answer(method, target.split("?")[0], headers)
        echoed = "".join(f"X-Echo-{n}: {v}\r\n" for n, v in enumerate(VARIANTS.values()))
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"X-Request-Id: req-{VARIANTS['first 40']}\r\n{echoed}Connection: close\r\n\r\n"
        )
        self.wfile.write(head.encode("latin-1") + body)

    @staticmethod
    def answer(method: str, path: str, headers: dict[str, str]) -> tuple[int, str, bytes, str]:
        if headers.get("authorization") != f"Bearer {KEY}":
            return 401, "Unauthorized", b'{"error":"bad key"}', "application/json"
        every = " ".join(VARIANTS.values())
        if method == "GET" and path == "/api/v1/profiles":
            profile = {
                "_id": "65a000000000000000000001",
                "name": f"Team {VARIANTS['first 40']}",
                "description": VARIANTS["base64 of Bearer key"],
                VARIANTS["upper case"]: "as a key",
            }
            listed = json.dumps({"profiles": [profile]}).encode()
            return 200, f"OK {VARIANTS['63 of 64']}", listed, "application/json"
        if method == "POST" and path == "/api/v1/profiles":
            error = {"error": f"Key {every[:480]} may not create profiles"}
            return 403, f"Forbidden {VARIANTS['base64']}", json.dumps(error).encode(), "application/json"
        if path.startswith("/api/v1/profiles/"):
            return 404, f"Not Found {VARIANTS['upper case']}", b"<html>no</html>", "text/html"
        if path == "/api/v1/accounts":
            return 200, "OK", f"<html>{every}</html>".encode(), f"text/html; k={VARIANTS['base64']}"
        return 404, f"Nope {KEY}", json.dumps({"message": every[:400]}).encode(), "application/json"


@contextmanager
def echoing_late() -> Iterator[str]:
    """Yield the API base URL of the echoing endpoint, served on 127.0.0.1 until the block ends."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _EchoHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def late_mcp_process(base: str, tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`late-mcp --transport http` with the echoing endpoint as Late and every logger at DEBUG."""
    port = free_port()
    env = server_env(
        LATE_API_KEY=KEY,
        LATE_BASE_URL=base,
        LATE_LOG_LEVEL="debug",
        LATE_JOURNAL_PATH=str(tmp_path / "journal.sqlite3"),
        LATE_MCP_TOKEN_STORE=str(tmp_path / "tokens.sqlite3"),
        LATE_RETRY_ATTEMPTS="1",
        LATE_TOOLSETS="all",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "late_mcp", "--transport", "http", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not healthy(port):
            assert proc.poll() is None and time.monotonic() < deadline, "late-mcp did not start"
            time.sleep(0.1)
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()


class Received:
    def __init__(self) -> None:
        self.messages: list[LoggingMessageNotificationParams] = []

    async def __call__(self, params: LoggingMessageNotificationParams) -> None:
        self.messages.append(params)


async def test_an_endpoint_echoing_every_variant_leaks_none_into_logs_results_or_journal(
    tmp_path: Path,
) -> None:
    results: dict[str, CallToolResult] = {}
    received = Received()
    with echoing_late() as base, late_mcp_process(base, tmp_path) as (port, proc):
        http = httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=120))
        transport = streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)
        async with Client(transport, mode="legacy", logging_callback=received) as client:  # type: ignore[arg-type]
            await client.set_logging_level("debug")
            for tool, arguments in (
                ("profiles_list", {}),
                ("profiles_create", {"name": "refuse me"}),
                ("profiles_get", {"profile_id": "65a000000000000000000001"}),
                ("accounts_list", {}),
                ("journal_recent", {}),
            ):
                result = await client.call_tool(tool, arguments)
                assert isinstance(result, CallToolResult)
                results[tool] = result
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    stderr = err.decode("utf-8", "replace")
    journal = "".join(f.read_bytes().decode("latin-1") for f in sorted(tmp_path.glob("journal.sqlite3*")))  # noqa: ASYNC240

    shown = {tool: r.model_dump_json() for tool, r in results.items()}
    # No form of the key is anywhere …
    places = {"stderr": stderr, "journal": journal}
    places.update({f"result of {tool}": dumped for tool, dumped in shown.items()})
    places["log notifications"] = json.dumps([m.model_dump() for m in received.messages])
    for place, captured in places.items():
        assert KEY not in captured and SECRET not in captured, place
        assert key_variants(captured, KEY) == [], (place, key_variants(captured, KEY))

    # … though the echo got through to each place (so the scans above are not vacuous).
    assert "receive_response_headers.complete" in stderr  # httpcore2's raw header trace was printed
    assert "HTTP Request: POST" in stderr and "uvicorn" in stderr.lower()
    assert "[redacted]" in stderr
    assert not results["profiles_list"].is_error and "[redacted]" in shown["profiles_list"]
    assert results["profiles_create"].is_error and "may not create profiles" in shown["profiles_create"]
    assert results["profiles_get"].is_error and "Not Found [redacted]" in shown["profiles_get"]
    assert results["accounts_list"].is_error and "not JSON" in shown["accounts_list"]
    assert "profiles_create" in journal
    assert received.messages, "no log notification reached the client"


SCRIPT = textwrap.dedent(
    """
    import logging, os
    from late_mcp.cli.main import configure_logging

    configure_logging("DEBUG")
    key = os.environ["LATE_API_KEY"]
    logging.getLogger("httpcore2.http11").debug("receive_response_headers.complete return_value=%r",
                                                (b"HTTP/1.1", 200, [(b"X-Echo", key.upper().encode())]))
    logging.getLogger("some.library").info("Bearer %s", key[:40])
    try:
        raise RuntimeError("refused " + key[3:66])
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    logging.getLogger("late_mcp.probe").warning("stack follows", stack_info=True)
    logging.getLogger("h11").debug("%d%%", 5)
    """
)


def test_every_logger_writes_through_the_scrubbing_handler(tmp_path: Path) -> None:
    """A child logger, another library's logger and an exception's traceback: all scrubbed."""
    env = server_env(LATE_API_KEY=KEY)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "receive_response_headers.complete" in proc.stderr and "Traceback" in proc.stderr
    assert "RuntimeError: refused [redacted]" in proc.stderr and "Bearer [redacted]" in proc.stderr
    assert "stack follows" in proc.stderr and "5%" in proc.stderr
    assert key_variants(proc.stderr, KEY) == [], key_variants(proc.stderr, KEY)


EMBEDDED = textwrap.dedent(
    """
    import logging, os
    from late_mcp.config.settings import Settings
    from late_mcp.server.build import build_server

    key = os.environ["LATE_API_KEY"]
    build_server(Settings(api_key=key, base_url="http://127.0.0.1:9/api"))  # logging not set up
    logging.getLogger("httpcore2.http11").warning("echo %s", key.upper())
    """
)


def test_the_sdk_s_own_stderr_handler_scrubs_too(tmp_path: Path) -> None:
    """Used from Python without logging set up, the SDK adds its own stderr handler: it scrubs."""
    proc = subprocess.run(
        [sys.executable, "-c", EMBEDDED],
        env=server_env(LATE_API_KEY=KEY),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "echo [redacted]" in proc.stderr and key_variants(proc.stderr, KEY) == [], proc.stderr


async def test_client_log_notifications_carry_no_variant(
    late_transport: httpx2.AsyncBaseTransport, caplog: pytest.LogCaptureFixture
) -> None:
    """A late_mcp record with the key in several forms reaches the client scrubbed, and so do the
    handlers after the client-log handler (the captured logs)."""
    server = build_server(make_settings(), transport=late_transport)
    leaky = logging.getLogger("late_mcp.variant_probe")

    @server.tool()
    async def leak_probe() -> str:
        """Log lines that carry the key in other forms."""
        secret = TEST_KEY[3:]
        leaky.warning("first 40: %s", TEST_KEY[:40])
        leaky.warning("upper: %s; base64: %s", TEST_KEY.upper(), b64(f"Bearer {TEST_KEY}"))
        leaky.warning("run: " + secret[5:20])
        return "done"

    received = Received()
    async with Client(server, mode="legacy", logging_callback=received) as client:
        await client.set_logging_level("debug")
        await client.call_tool("leak_probe", {})
    probe = [str(m.data) for m in received.messages if m.logger == "late_mcp.variant_probe"]
    assert probe == [
        "first 40: [redacted]",
        "upper: [redacted]; base64: QmVhcmVyIHNrX[redacted]ZTA=",  # `Bearer sk_` and a padded end stay
        "run: [redacted]",
    ]
    assert key_variants(json.dumps([m.model_dump() for m in received.messages])) == []
    assert "first 40: [redacted]" in caplog.text and key_variants(caplog.text) == []
