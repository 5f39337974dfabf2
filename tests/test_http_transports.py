"""The same server over streamable HTTP and SSE: what `late-mcp --transport ...` serves."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp_types import CallToolResult

from late_mcp.config import DEFAULT_TOOLSETS
from late_mcp.tools import ALL_TOOLS

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(transport: str) -> Iterator[int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "late_mcp", "--sandbox", "--transport", transport, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
        assert out == b""  # nothing on stdout in HTTP mode either


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
