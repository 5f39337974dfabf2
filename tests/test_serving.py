"""Serving for people: started by hand in a terminal, and opened in a browser."""

from __future__ import annotations

import html
import os
import pty
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp_types import CallToolResult

from late_mcp.transports.page import client_settings
from test_http_transports import serve

pytestmark = pytest.mark.anyio


def test_stdio_in_a_terminal_explains_itself_and_stops_on_ctrl_c() -> None:
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "late_mcp", "--sandbox"],
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    os.close(secondary)
    try:
        assert proc.stderr is not None
        hint = proc.stderr.readline()  # printed before serving starts: the process is ready for Ctrl-C
        assert hint.startswith("late-mcp: waiting for an MCP client on stdin")
        for advice in ("late-mcp call", "late-mcp tools", "--transport http"):
            assert advice in hint
        proc.send_signal(signal.SIGINT)
        out, rest = proc.communicate(timeout=30)
    finally:
        os.close(primary)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (0, 130)
    assert out == ""
    assert "Traceback" not in rest and rest.strip() == "late-mcp: stopped."


def test_stdio_from_a_client_prints_no_hint() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "late_mcp", "--sandbox"],
        input="",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0
    assert proc.stdout == "" and "waiting for an MCP client" not in proc.stderr


@pytest.fixture
def http_server() -> Iterator[int]:
    yield from serve("http")


async def test_a_browser_gets_a_page_and_clients_still_get_mcp(http_server: int) -> None:
    url = f"http://127.0.0.1:{http_server}/mcp"
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    async with httpx2.AsyncClient() as http:
        page = await http.get(url, headers={"Accept": browser_accept})
        bare = await http.get(url, headers={"Accept": "application/json"})
        foreign = await http.post(
            url,
            headers={"Host": "evil.example", "Accept": "application/json, text/event-stream"},
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "MCP" in page.text and "streamable HTTP" in page.text
    for client, setting in client_settings(url):  # every client's setting, as the README gives it
        assert f"{html.escape(client)}: <code>{html.escape(setting)}</code>" in page.text
    assert bare.status_code >= 400 and "jsonrpc" in bare.text  # not a browser: the SDK answers
    assert foreign.status_code == 421  # the SDK's DNS-rebinding protection still applies
    async with Client(url) as client:
        result = await client.call_tool("usage_stats", {})
    assert isinstance(result, CallToolResult) and not result.is_error


def test_the_readme_gives_every_client_the_setting_the_page_gives() -> None:
    """One source for both: the README's HTTP settings are the page's, for the default address."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    missing = [
        client for client, setting in client_settings("http://127.0.0.1:8000/mcp") if setting not in readme
    ]
    assert not missing, f"README's HTTP setting differs from the browser page's for {missing}"
