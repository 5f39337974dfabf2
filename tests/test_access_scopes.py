"""Scoped and read-only tokens: each caller sees and touches only what its token allows.

The token store is real (SQLite); the server is the real HTTP app on a socket; the clients are the
SDK's own. The sandbox holds two clients' profiles: Acme and Nordic.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

import late_mcp.server.build
from conftest import structured
from contract import ContractCheckingTransport
from httpserve import connect, running
from late_mcp.auth.tokens import SQLiteTokenStore
from late_mcp.config.http import HttpSettings
from late_mcp.late.client import LateClient
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_ACCOUNT_NORDIC_TWITTER,
    SEED_PROFILE_ACME,
    SEED_PROFILE_NORDIC,
)
from late_mcp.tools import ALL_TOOLS

pytestmark = pytest.mark.anyio
ACME, NORDIC = SEED_PROFILE_ACME, SEED_PROFILE_NORDIC


@pytest.fixture
def store(tmp_path: Path) -> SQLiteTokenStore:
    return SQLiteTokenStore(tmp_path / "tokens.sqlite3")


def body(result: CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


async def data(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, body(result)
    assert isinstance(structured(result), dict)
    return structured(result)


async def refusal(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} unexpectedly succeeded: {body(result)}"
    return body(result)


async def test_one_late_client_for_every_session_on_every_http_transport(
    late_transport: ContractCheckingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[LateClient] = []

    class Counted(LateClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(late_mcp.server.build, "LateClient", Counted)
    for transport, stateless in (("http", False), ("http", True), ("sse", False)):
        made.clear()
        http = HttpSettings(transport=transport, stateless=stateless)  # type: ignore[arg-type]
        async with running(late_transport, http) as base:
            for _ in range(3):
                async with connect(base, sse=transport == "sse") as client:
                    await data(client, "profiles_list")
        assert len(made) == 1, f"{transport}: {len(made)} Late clients for 3 sessions"


async def test_a_profile_scoped_token_sees_only_its_profile(
    late_transport: ContractCheckingTransport, store: SQLiteTokenStore, state: SandboxState
) -> None:
    token = store.create("acme-assistant", (ACME,), False)
    nordic_post = state.create_post(
        {
            "content": "Nordic only",
            "platforms": [{"platform": "twitter", "accountId": SEED_ACCOUNT_NORDIC_TWITTER}],
        }
    )
    server = running(late_transport, HttpSettings(transport="http"), store, confirm=False)
    async with server as base, connect(base, token) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        profiles = await data(client, "profiles_list")
        accounts = await data(client, "accounts_list")
        health = await data(client, "accounts_health")
        invite = await data(client, "invites_create", profile_id=ACME, platforms=["twitter"])
        state.create_invite({"profileId": NORDIC, "platform": "twitter"}, "http://late.test")
        invites = await data(client, "invites_list")
        mine = await data(
            client, "posts_create", accounts=[SEED_ACCOUNT_ACME_TWITTER], content="Bread!", is_draft=True
        )
        posts = await data(client, "posts_list", profile_id=ACME)
        own_queue = await data(client, "queue_slots_get", profile_id=ACME)
        refused = {
            "profiles_get": await refusal(client, "profiles_get", profile_id=NORDIC),
            "profiles_update": await refusal(client, "profiles_update", profile_id=NORDIC, name="Mine now"),
            "accounts_list": await refusal(client, "accounts_list", profile_id=NORDIC),
            "accounts_disconnect": await refusal(
                client, "accounts_disconnect", account_id=SEED_ACCOUNT_NORDIC_TWITTER
            ),
            "invites_create": await refusal(
                client, "invites_create", profile_id=NORDIC, platforms=["twitter"]
            ),
            "posts_list": await refusal(client, "posts_list", profile_id=NORDIC),
            "posts_get": await refusal(client, "posts_get", post_id=nordic_post["_id"]),
            "posts_delete": await refusal(client, "posts_delete", post_id=nordic_post["_id"]),
            "posts_create": await refusal(
                client,
                "posts_create",
                accounts=[SEED_ACCOUNT_NORDIC_TWITTER],
                content="Hi",
                is_draft=True,
            ),
            "queue_preview": await refusal(client, "queue_preview", profile_id=NORDIC),
            "queue_slots_get": await refusal(client, "queue_slots_get", profile_id=NORDIC),
            "queue_slots_set": await refusal(
                client,
                "queue_slots_set",
                profile_id=NORDIC,
                timezone="UTC",
                slots=[{"day_of_week": 1, "time": "09:00"}],
            ),
            "posts_logs": await refusal(client, "posts_logs", post_id=nordic_post["_id"]),
            "analytics_report": await refusal(
                client, "analytics_report", profile_id=NORDIC, from_date="2026-01-01", to_date="2026-01-31"
            ),
            "analytics_best_times": await refusal(client, "analytics_best_times", profile_id=NORDIC),
            "accounts_followers": await refusal(
                client, "accounts_followers", account_ids=[SEED_ACCOUNT_NORDIC_TWITTER]
            ),
            "comments_list": await refusal(client, "comments_list", account_id=SEED_ACCOUNT_NORDIC_TWITTER),
            "journal_recent": await refusal(client, "journal_recent"),
            "profiles_create": await refusal(client, "profiles_create", name="Sneaky"),
        }
    assert [p["id"] for p in profiles["profiles"]] == [ACME]
    assert accounts["accounts"] and {a["profile_id"] for a in accounts["accounts"]} == {ACME}
    assert "Nordic" not in json.dumps(health)
    assert [i["id"] for i in invites["invites"]] == [invite["invites"][0]["id"]]
    assert [p["id"] for p in posts["posts"]] == [mine["post"]["id"]]
    assert own_queue  # the caller's own profile keeps working
    for tool, text in refused.items():
        if tool in {"journal_recent", "profiles_create"}:
            assert f"Unknown tool: {tool}" in text and "limited to some profiles" in text, text
            assert tool not in names
        elif tool in {
            "accounts_disconnect",
            "posts_create",
        }:  # the tool resolves accounts from the filtered list
            assert "account" in text.lower() and SEED_ACCOUNT_NORDIC_TWITTER in text, (tool, text)
        else:
            assert "was not found among the profiles this access token may use" in text, (tool, text)
    assert state.profiles[NORDIC]["name"] == "Nordic Outdoor"
    assert SEED_ACCOUNT_NORDIC_TWITTER in state.accounts and nordic_post["_id"] in state.posts


async def test_a_read_only_token_lists_and_calls_only_read_only_tools(
    late_transport: ContractCheckingTransport, store: SQLiteTokenStore, state: SandboxState
) -> None:
    token = store.create("viewer", (), True)
    server = running(late_transport, HttpSettings(transport="http"), store)
    async with server as base, connect(base, token) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        both = await data(client, "profiles_list")
        refused = await refusal(client, "profiles_create", name="Not allowed")
    assert names == {t.name for t in ALL_TOOLS if t.read_only}
    assert {p["id"] for p in both["profiles"]} == {ACME, NORDIC}
    assert "Unknown tool: profiles_create" in refused and "read-only" in refused
    assert ("POST", "/api/v1/profiles") not in state.requests


async def test_two_concurrent_clients_with_different_scopes_never_see_each_others_data(
    late_transport: ContractCheckingTransport, store: SQLiteTokenStore
) -> None:
    tokens = {ACME: store.create("acme", (ACME,), False), NORDIC: store.create("nordic", (NORDIC,), True)}
    seen: dict[str, set[str]] = {ACME: set(), NORDIC: set()}

    async def work(profile: str) -> None:
        async with connect(base, tokens[profile]) as client:
            for _ in range(10):
                for tool in ("profiles_list", "accounts_list", "invites_list"):
                    found = await data(client, tool)
                    for item in next(iter(found.values())):
                        seen[profile].add(item.get("profile_id") or item["id"])

    server = running(late_transport, HttpSettings(transport="http"), store)
    async with server as base, anyio.create_task_group() as tg:
        for profile in (ACME, NORDIC, ACME, NORDIC):
            tg.start_soon(work, profile)
    assert seen[ACME] == {ACME} and seen[NORDIC] == {NORDIC}


def token_cli(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "late_mcp", "token", *args],
        env={"PATH": "/usr/bin:/bin", "LATE_MCP_TOKEN_STORE": str(store), "HOME": str(store.parent)},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_token_create_list_revoke_from_the_cli_reach_a_running_server(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.sqlite3"
    created = token_cli(path, "create", "alice", "--profile", ACME, "--read-only")
    assert created.returncode == 0, created.stderr
    assert created.stdout.count("\n") == 1  # the token, nothing else
    token = created.stdout.strip()
    assert token.startswith("lmcp_") and token not in path.read_bytes().decode("latin-1")
    listed = token_cli(path, "list")
    assert listed.stdout.startswith(f"alice\t{ACME}\tread-only\t") and "active" in listed.stdout
    assert token not in listed.stdout + listed.stderr
    store = SQLiteTokenStore(path)
    async with running(late_transport, HttpSettings(transport="http"), store) as base:
        async with connect(base, token) as client:
            assert [p["id"] for p in (await data(client, "profiles_list"))["profiles"]] == [ACME]
        revoked = token_cli(path, "revoke", "alice")
        async with httpx2.AsyncClient() as web:
            after = await web.post(
                f"{base}/mcp",
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"},
            )
    assert revoked.returncode == 0 and revoked.stdout == ""
    assert after.status_code == 401
    assert "revoked" in token_cli(path, "list").stdout
    again = token_cli(path, "revoke", "alice")
    assert again.returncode == 2 and "No active token named 'alice'" in again.stderr
    duplicate = token_cli(path, "create", "alice")
    assert duplicate.returncode == 2 and duplicate.stdout == "" and "already exists" in duplicate.stderr


async def test_a_read_only_token_learns_nothing_about_write_tools_of_toolsets_left_out(
    late_transport: ContractCheckingTransport, store: SQLiteTokenStore
) -> None:
    token = store.create("viewer", (), True)
    server = running(late_transport, HttpSettings(transport="http"), store, toolsets=None)
    async with server as base, connect(base, token) as client:
        write = await refusal(client, "comments_reply", comment_id="c1", text="hi")
        read = await refusal(client, "analytics_report")
    assert "Unknown tool: comments_reply" in write and "read-only" in write and "toolset" not in write
    assert "analytics toolset" in read and "LATE_TOOLSETS=default,analytics" in read
