"""The same server over streamable HTTP and SSE: what `late-mcp --transport ...` serves."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp_types import CallToolResult

from late_mcp.config.settings import DEFAULT_TOOLSETS
from late_mcp.tools import ALL_TOOLS

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(port: int) -> bool:
    """The server answers /healthz: uvicorn has started (the socket alone is bound earlier)."""
    try:
        return httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx2.HTTPError:
        return False


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the caller's LATE_* settings, and a token store of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}
    store = Path(tempfile.mkdtemp(prefix="late-mcp-tokens-")) / "tokens.sqlite3"
    return {**env, "LATE_MCP_TOKEN_STORE": str(store), **extra}


def serve(transport: str, *options: str, **env: str) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "late_mcp",
            "--sandbox",
            "--transport",
            transport,
            "--port",
            str(port),
            *options,
        ],
        env=clean_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if healthy(port):
                break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        yield port
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = proc.communicate(timeout=15)
        assert out == b""  # nothing on stdout in HTTP mode either
        assert b"Traceback" not in err and proc.returncode == 130, err.decode()
        assert err.endswith(b"late-mcp: stopped.\n")


@pytest.fixture
def streamable_http() -> Iterator[int]:
    yield from serve("streamable-http")


@pytest.fixture
def sse() -> Iterator[int]:
    yield from serve("sse")


async def test_streamable_http_serves_the_sandbox(streamable_http: int) -> None:
    async with Client(f"http://127.0.0.1:{streamable_http}/mcp") as client:
        assert len((await client.list_tools()).tools) == sum(
            spec.domain in DEFAULT_TOOLSETS for spec in ALL_TOOLS
        )  # the default toolsets
        result = await client.call_tool("profiles_list", {})
    assert isinstance(result, CallToolResult) and not result.is_error
    assert "[sandbox" in result.content[0].text  # type: ignore[union-attr]


async def test_sse_serves_the_sandbox(sse: int) -> None:
    async with Client(sse_client(f"http://127.0.0.1:{sse}/sse"), mode="legacy") as client:  # type: ignore[arg-type]
        result = await client.call_tool("usage_stats", {})
    assert isinstance(result, CallToolResult) and not result.is_error


@pytest.fixture
def http() -> Iterator[int]:
    yield from serve("http")


@pytest.fixture
def stateless() -> Iterator[int]:
    yield from serve("http", "--stateless")


async def test_http_is_streamable_http(http: int) -> None:
    async with Client(f"http://127.0.0.1:{http}/mcp") as client:
        result = await client.call_tool("profiles_list", {})
    assert isinstance(result, CallToolResult) and not result.is_error


async def test_stateless_http_needs_no_session(stateless: int) -> None:
    """Each request stands alone, so replicas behind a load balancer can answer any of them."""
    async with Client(f"http://127.0.0.1:{stateless}/mcp") as client:
        first = await client.call_tool("profiles_list", {})
        second = await client.call_tool("time_now", {})
    assert isinstance(first, CallToolResult) and not first.is_error
    assert isinstance(second, CallToolResult) and not second.is_error


def test_transport_host_and_port_come_from_the_environment() -> None:
    port = free_port()
    gen = serve_env(port)
    try:
        assert next(gen) == port
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) == 0
    finally:
        gen.close()


def serve_env(port: int) -> Iterator[int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "late_mcp", "--sandbox"],
        env=clean_env(LATE_MCP_TRANSPORT="http", LATE_MCP_HOST="127.0.0.1", LATE_MCP_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()
        assert f"streamable HTTP on http://127.0.0.1:{port}/mcp" in line, line
        while not healthy(port):
            time.sleep(0.05)
        yield port
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "late_mcp", "--sandbox", *args],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_non_loopback_bind_without_authentication_is_refused() -> None:
    done = run_cli("--transport", "http", "--host", "0.0.0.0", "--port", str(free_port()))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "refusing to serve on 0.0.0.0 without authentication" in done.stderr
    assert "LATE_MCP_TOKEN" in done.stderr and "late-mcp token create" in done.stderr


def test_a_port_in_use_and_a_bad_host_are_one_line_each() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        busy = run_cli("--transport", "http", "--port", str(port))
    bad_host = run_cli(
        "--transport",
        "sse",
        "--host",
        "no-such-host.invalid",
        "--port",
        str(free_port()),
        LATE_MCP_TOKEN="t" * 32,
    )
    bad_port = run_cli("--transport", "http", "--port", "99999")
    for done in (busy, bad_host, bad_port):
        assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert busy.stderr.count("\n") == 1 and f"port {port} on 127.0.0.1 is already in use" in busy.stderr
    assert "--port" in busy.stderr
    assert bad_host.stderr.count("\n") == 1 and "'no-such-host.invalid'" in bad_host.stderr
    assert "--host 127.0.0.1" in bad_host.stderr
    assert "--port must be a port number from 1 to 65535" in bad_port.stderr


def test_a_token_allows_a_non_loopback_bind() -> None:
    secret = "team-secret-" + "y" * 24
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "late_mcp",
            "--sandbox",
            "--transport",
            "http",
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
        ],
        env=clean_env(LATE_MCP_TOKEN=secret),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        assert b"token required" in proc.stderr.readline()
        while not healthy(port):
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 130 and out == b"" and b"Traceback" not in err
