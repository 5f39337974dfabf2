"""Every answer of a sandbox server says so: results, previews, refusals of every layer, and the
HTTP start line; and Late's unlimited plan limit (-1) reads as unlimited."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

import late_mcp.sandbox.media
from conftest import call, make_settings, text
from contract import ContractCheckingTransport
from httpserve import connect, running
from late_mcp.auth.tokens import SQLiteTokenStore
from late_mcp.config.http import HttpSettings
from late_mcp.sandbox.state import SEED_ACCOUNT_ACME_TWITTER
from late_mcp.server.build import build_server
from late_mcp.transports.serving import bind_socket

pytestmark = pytest.mark.anyio
MARK = "[sandbox: demo data, nothing is published] "


async def test_results_previews_and_errors_all_begin_with_the_sandbox_mark(
    late_transport: ContractCheckingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(late_mcp.sandbox.media.PLAN_LIMITS, "uploads", -1)
    server = build_server(make_settings(sandbox=True, toolsets=None), transport=late_transport)
    async with Client(server, mode="legacy") as client:
        answers = {
            "result": await call(client, "usage_stats"),
            "preview": await call(
                client, "posts_create", content="Hi", accounts=[SEED_ACCOUNT_ACME_TWITTER], publish_now=True
            ),
            "late error": await call(client, "posts_get", post_id="0123456789abcdef01234567"),
            "bad argument": await call(client, "profiles_list", colour="red"),
            "toolset off": await call(client, "analytics_report"),
        }
    for what, answer in answers.items():
        assert text(answer).startswith(MARK) and text(answer).count(MARK) == 1, (what, text(answer))
    assert all(answers[what].is_error for what in ("late error", "bad argument", "toolset off"))
    assert "Preview only, nothing was changed" in text(answers["preview"])
    usage = text(answers["result"]).split("\n", 1)[0]
    assert usage.startswith(MARK + "Plan Sandbox: 0/unlimited uploads, ") and "/-1" not in usage, usage


async def test_a_token_refusal_of_a_sandbox_server_says_sandbox_too(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    token = store.create("viewer", (), True)
    server = running(late_transport, HttpSettings(transport="http"), store, sandbox=True)
    async with server as base, connect(base, token) as client:
        refused = await client.call_tool("profiles_create", {"name": "Not allowed"})
    assert refused.is_error and text(refused).startswith(MARK + "Unknown tool: profiles_create."), text(
        refused
    )


def test_the_http_start_line_of_a_sandbox_server_says_sandbox() -> None:
    with bind_socket("127.0.0.1", 0) as probe:
        port = int(probe.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "late_mcp", "--sandbox", "--transport", "http", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
    assert line.startswith(f"late-mcp: {MARK}streamable HTTP on http://127.0.0.1:{port}/mcp"), line
