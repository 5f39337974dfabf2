"""OAuth sign-in end to end: the SDK's own OAuth client (`OAuthClientProvider`) discovers the server
from a 401, registers, is sent to the consent page (answered over HTTP by a `Person`), gets a code,
exchanges it and calls tools; the grant is then exactly a scoped token (the same refusals).

One test runs a real `late-mcp --sandbox --transport streamable-http` process with a user made by
`late-mcp user add --password-stdin`; the others run the real HTTP app in-process on a socket.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

from conftest import structured
from contract import ContractCheckingTransport
from httpserve import connect, running
from late_mcp.auth.oauth_kv import SQLiteKeyValue
from late_mcp.auth.oauth_store import OAuthStore
from late_mcp.auth.tokens import SQLiteTokenStore
from late_mcp.config.http import HttpSettings
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.state import SEED_ACCOUNT_NORDIC_TWITTER, SEED_PROFILE_ACME, SEED_PROFILE_NORDIC
from oauthflow import (
    PASSWORD,
    REDIRECT,
    MemoryStorage,
    Person,
    authorize_url,
    code_of,
    grant_token,
    oauth_client,
    pkce,
    register,
)
from test_http_edges import MCP_HEADERS, server_process, token_command
from test_http_security import INIT
from test_http_transports import clean_env

pytestmark = pytest.mark.anyio
ACME, NORDIC = SEED_PROFILE_ACME, SEED_PROFILE_NORDIC
NOT_OURS = "was not found among the profiles this access token may use"
SHARED = "shared-secret-for-the-whole-agency-0123456789"


def body(result: object) -> str:
    return "\n".join(b.text for b in getattr(result, "content", []) if isinstance(b, TextContent))


def oauth_store(folder: Path) -> OAuthStore:
    store = OAuthStore(SQLiteKeyValue(folder / "oauth.sqlite3"))
    store.add_user("alice", PASSWORD)
    return store


@asynccontextmanager
async def oauth_server(
    transport: ContractCheckingTransport, folder: Path
) -> AsyncIterator[tuple[str, OAuthStore]]:
    store = oauth_store(folder)
    tokens = SQLiteTokenStore(folder / "tokens.sqlite3")
    async with running(
        transport, HttpSettings(transport="http"), tokens, oauth_store=store, confirm=False
    ) as base:
        yield base, store


def user_command(
    env: dict[str, str], *args: str, given: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "late_mcp", "user", *args],
        env=env,
        input=given,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_sdk_oauth_client_signs_in_to_a_real_server_lists_tools_and_calls_one(
    tmp_path: Path,
) -> None:
    env = {**clean_env(), "LATE_MCP_TOKEN_STORE": str(tmp_path / "tokens.sqlite3")}
    made = user_command(env, "add", "alice", "--password-stdin", given=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    listed = user_command(env, "list")
    assert listed.stdout.startswith("alice\t")
    assert oct(os.stat(tmp_path / "oauth.sqlite3").st_mode & 0o777) == "0o600"
    with server_process(env) as (port, _):
        base = f"http://127.0.0.1:{port}"
        async with httpx2.AsyncClient() as web:
            refused = await web.post(f"{base}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert refused.status_code == 401
        challenge = refused.headers["www-authenticate"]
        assert f'resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"' in challenge
        person = Person(profiles=(ACME,))
        async with oauth_client(base, person) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert "profiles_list" in names
            assert "posts_create" not in names  # "may write" was left unticked: read-only tools only
            shown = await client.call_tool("profiles_list", {})
            assert not shown.is_error, body(shown)
            assert isinstance(structured(shown), dict)
            ids = {p["id"] for p in structured(shown)["profiles"]}
            assert ids == {ACME}
        form = person.seen[0]
        offered = {value for name, value, _ in form.checkboxes if name == "profile"}
        assert {ACME, NORDIC} <= offered
        assert not any(checked for *_, checked in form.checkboxes)
        tokens = token_command(env, "list")
        assert tokens.returncode == 0, tokens.stderr
        (line,) = [row for row in tokens.stdout.splitlines() if row.startswith("oauth:")]
        assert f"\t{ACME}\tread-only\t" in line and '"Test assistant"' in line and "user alice" in line
        assert "last used -" not in line
        removed = user_command(env, "remove", "alice")
        assert (
            removed.returncode == 0
            and "user 'alice' removed; 1 grant(s) they approved ended." in removed.stderr
        )
        (line,) = [row for row in token_command(env, "list").stdout.splitlines() if row.startswith("oauth:")]
        assert "\trevoked " in line
        assert user_command(env, "list").stderr.startswith("No users yet.")


async def test_an_oauth_grant_for_acme_cannot_reach_another_clients_things(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    async with (
        oauth_server(late_transport, tmp_path) as (base, _),
        oauth_client(base, Person(profiles=(ACME,), may_write=True)) as client,
    ):
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "posts_create" in names  # "may write" ticked
        refused = await client.call_tool(
            "posts_create", {"content": "hello", "accounts": [SEED_ACCOUNT_NORDIC_TWITTER], "is_draft": True}
        )
        assert refused.is_error, body(refused)
        assert f"{SEED_ACCOUNT_NORDIC_TWITTER!r} is not a connected account id" in body(refused)
        other = await client.call_tool("accounts_list", {"profile_id": NORDIC})
        assert other.is_error and f"Profile {NORDIC} {NOT_OURS}" in body(other), body(other)
        mine = await client.call_tool("accounts_list", {"profile_id": ACME})
        assert not mine.is_error, body(mine)


async def test_two_people_sign_in_at_once_and_each_gets_only_their_own_grant(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    seen: dict[str, set[str]] = {}
    async with oauth_server(late_transport, tmp_path) as (base, store):
        store.add_user("bob", PASSWORD)

        async def person(user: str, profile: str) -> None:
            async with oauth_client(base, Person(user=user, profiles=(profile,)), MemoryStorage()) as client:
                shown = await client.call_tool("profiles_list", {})
                assert isinstance(structured(shown), dict), body(shown)
                seen[user] = {p["id"] for p in structured(shown)["profiles"]}

        async with anyio.create_task_group() as tg:
            tg.start_soon(person, "alice", ACME)
            tg.start_soon(person, "bob", NORDIC)
        grants = {g.user: g for g in store.grants()}
    assert seen == {"alice": {ACME}, "bob": {NORDIC}}
    assert grants["alice"].profiles == (ACME,) and grants["bob"].profiles == (NORDIC,)


async def test_a_wrong_password_on_the_consent_page_is_refused_and_grants_nothing(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    async with oauth_server(late_transport, tmp_path) as (base, store), httpx2.AsyncClient() as web:
        client = await register(web, base)
        url = authorize_url(base, client["client_id"], pkce()[1])
        wrong = await Person(password="not the password", profiles=(ACME,)).answer(web, url)
        assert wrong.status_code == 401 and "The user name or password is wrong." in wrong.text
        assert "location" not in wrong.headers
        unticked = await Person().answer(web, url)
        assert unticked.status_code == 400, unticked.text
        assert "Tick at least one client profile (or every profile) to approve, or deny." in unticked.text
        assert store.grants() == []
        approved = await Person(profiles=(ACME,)).answer(web, url)
        assert code_of(approved).state == "s1"
        assert [g.profiles for g in store.grants()] == [(ACME,)]


async def test_two_grants_sending_one_key_each_get_their_own_call_and_their_own_journal(
    late_transport: ContractCheckingTransport, state: SandboxState, tmp_path: Path
) -> None:
    """Caller-bound handles (idempotency keys and stored answers, journal entries) belong to one
    grant: its caller id is oauth:<grant id>, as a scoped token's is token:<name>."""
    store = oauth_store(tmp_path)
    tokens = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    http = HttpSettings(transport="http", token=SHARED)
    arguments = {"name": "Same name", "allow_duplicate": True, "idempotency_key": "same-key-0001"}
    results: dict[str, list[CallToolResult]] = {"alice": [], "bob": []}
    journals: dict[str, Any] = {}
    async with running(
        late_transport, http, tokens, oauth_store=store, journal_path=tmp_path / "j.sqlite3"
    ) as base:
        grants = {user: grant_token(store, base, None, False) for user in results}

        async def caller(user: str) -> None:
            async with connect(base, grants[user]) as client, anyio.create_task_group() as calls:
                for _ in range(3):
                    calls.start_soon(lambda: _collect(client, results[user], arguments))

        async with anyio.create_task_group() as group:
            for user in results:
                group.start_soon(caller, user)
        for user in results:
            async with connect(base, grants[user]) as client:
                journals[user] = structured(await client.call_tool("journal_recent", {}))
        async with connect(base, SHARED) as client:
            journals["admin"] = structured(await client.call_tool("journal_recent", {}))
    made = [p for p in state.profiles.values() if p["name"] == "Same name"]
    assert len(made) == 2
    ids = {}
    for user, answers in results.items():
        assert all(not r.is_error for r in answers), [body(r) for r in answers]
        assert sum("Replayed" in body(r) for r in answers) == 2
        ids[user] = {structured(r)["profile"]["id"] for r in answers}
        assert len(journals[user]["entries"]) == 1
    assert len(ids["alice"]) == len(ids["bob"]) == 1 and ids["alice"] != ids["bob"]
    callers = sorted(e["caller"] for e in journals["admin"]["entries"])
    assert len(callers) == 2 and all(c.startswith("oauth:") for c in callers) and callers[0] != callers[1]
    assert set(callers) == {g.id for g in store.grants()}


async def _collect(client: Client, into: list[CallToolResult], arguments: dict[str, Any]) -> None:
    into.append(await client.call_tool("profiles_create", arguments))


async def test_no_oauth_secret_reaches_the_log_even_at_debug(tmp_path: Path) -> None:
    """A whole sign-in, refresh and revocation against a real process logging at DEBUG: no password,
    consent request id, code, client secret, access or refresh token appears on its stderr."""
    env = {
        **clean_env(),
        "LATE_MCP_TOKEN_STORE": str(tmp_path / "tokens.sqlite3"),
        "LATE_LOG_LEVEL": "DEBUG",
    }
    made = user_command(env, "add", "alice", "--password-stdin", given=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    secrets: list[str] = [PASSWORD]
    with server_process(env) as (port, stderr):
        base = f"http://127.0.0.1:{port}"
        async with httpx2.AsyncClient() as web:
            registered = (
                await web.post(
                    f"{base}/register", json={"client_name": "Logged", "redirect_uris": [REDIRECT]}
                )
            ).json()
            client_id, secret = registered["client_id"], registered["client_secret"]
            verifier, challenge = pkce()
            authorize = await web.get(authorize_url(base, client_id, challenge))
            secrets.append(parse_qs(urlsplit(authorize.headers["location"]).query)["request"][0])
            code = code_of(await Person(profiles=(ACME,)).answer(web, authorize.headers["location"]))
            tokens = await web.post(
                f"{base}/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code.code,
                    "redirect_uri": REDIRECT,
                    "client_id": client_id,
                    "client_secret": secret,
                    "code_verifier": verifier,
                },
            )
            issued = tokens.json()
            headers = {"Authorization": f"Bearer {issued['access_token']}", **MCP_HEADERS}
            assert (await web.post(f"{base}/mcp", json=INIT, headers=headers)).status_code == 200
            rotated = await web.post(
                f"{base}/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": issued["refresh_token"],
                    "client_id": client_id,
                    "client_secret": secret,
                },
            )
            assert rotated.status_code == 200, rotated.text
            secrets += [secret, code.code, verifier, issued["access_token"], issued["refresh_token"]]
            secrets += [rotated.json()["access_token"], rotated.json()["refresh_token"]]
    log = stderr[0].decode()
    assert "GET /consent" in log and "POST /token" in log  # it does log the requests, at DEBUG
    leaked = [s[:12] for s in secrets if s in log]
    assert leaked == [], leaked


async def test_a_grants_confirm_and_upload_tokens_answer_only_that_grant(
    late_transport: ContractCheckingTransport, state: SandboxState, tmp_path: Path
) -> None:
    store = oauth_store(tmp_path)
    tokens = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    doomed = state.create_post(
        {
            "content": "Delete me",
            "platforms": [{"platform": "twitter", "accountId": SEED_ACCOUNT_NORDIC_TWITTER}],
        }
    )["_id"]
    http = HttpSettings(transport="http")
    async with running(
        late_transport, http, tokens, oauth_store=store, journal_path=tmp_path / "j.sqlite3"
    ) as base:
        alice, bob = grant_token(store, base, None, False), grant_token(store, base, None, False)
        async with connect(base, alice) as as_alice, connect(base, bob) as as_bob:
            preview = structured(await as_alice.call_tool("posts_delete", {"post_id": doomed}))
            assert preview is not None and preview["status"] == "preview"
            stolen = await as_bob.call_tool(
                "posts_delete", {"post_id": doomed, "confirm": preview["confirm_token"]}
            )
            upload = structured(await as_alice.call_tool("media_browser_upload_start", {}))
            assert upload is not None
            peeked = await as_bob.call_tool("media_browser_upload_status", {"token": upload["token"]})
            assert doomed in state.posts
            done = await as_alice.call_tool(
                "posts_delete", {"post_id": doomed, "confirm": preview["confirm_token"]}
            )
    assert stolen.is_error and "made for other arguments or for another caller" in body(stolen)
    assert peeked.is_error and "not a browser-upload token this access token started" in body(peeked)
    assert not done.is_error, body(done)
    assert doomed not in state.posts
