"""Protocol 2026-07-28 (issue 16): no sessions, confirmations asked through input_required, and
the sealed requestState under the deployment's signing secret, bound to the caller.

The clients are the SDK's own, pinned to 2026-07-28 (or to the handshake era where the old way
must keep working); the servers are late-mcp in-process or its real HTTP app on a real socket;
Late is the sandbox.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, InputRequiredResult

from conftest import asking, make_settings, structured, text
from contract import ContractCheckingTransport
from httpserve import running
from late_mcp.auth.tokens import SQLiteTokenStore
from late_mcp.config.http import HttpSettings
from late_mcp.safety.signing import secret_file_for
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.state import SEED_ACCOUNT_NORDIC_TWITTER
from late_mcp.server.build import build_server

pytestmark = pytest.mark.anyio
MODERN = "2026-07-28"
CONFIRM_QUESTION = "late-mcp/confirm"  # the key of the question in inputRequests


def draft(state: SandboxState, content: str) -> str:
    post = state.create_post(
        {"content": content, "platforms": [{"platform": "twitter", "accountId": SEED_ACCOUNT_NORDIC_TWITTER}]}
    )
    return str(post["_id"])


def deletes(state: SandboxState, post_id: str) -> int:
    return sum(1 for method, path in state.requests if method == "DELETE" and path.endswith(post_id))


def body(result: CallToolResult) -> str:
    return text(result)


def http_client(base: str, token: str | None = None, *, mode: str = MODERN, **options: Any) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120))
    transport = streamable_http_client(f"{base}/mcp", http_client=http)
    return Client(transport, mode=mode, **options)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteTokenStore]:
    tokens = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    yield tokens
    tokens.close()


# -- confirmations asked through input_required --------------------------------------------------


async def test_a_modern_client_is_asked_once_and_its_yes_deletes_exactly_once(
    late_transport: ContractCheckingTransport, state: SandboxState, tmp_path: Path
) -> None:
    doomed = draft(state, "Delete me, asked the new way")
    server = build_server(make_settings(journal_path=tmp_path / "journal.sqlite3"), transport=late_transport)
    yes = asking("accept", confirm=True)
    async with Client(server, mode=MODERN, elicitation_callback=yes) as client:
        assert client.session.protocol_version == MODERN
        result = await client.call_tool("posts_delete", {"post_id": doomed})
        journal = await client.call_tool("journal_recent", {})
    assert not result.is_error and f"Deleted post {doomed}" in body(result), body(result)
    assert len(yes.asked) == 1 and yes.asked[0].startswith("late-mcp: delete draft post"), yes.asked
    assert "Delete me, asked the new way" in yes.asked[0]  # the person sees what goes
    assert deletes(state, doomed) == 1 and doomed not in state.posts
    entries = structured(journal)["entries"]
    assert [(e["tool"], e["outcome"]) for e in entries] == [("posts_delete", "ok")]


@pytest.mark.parametrize(
    ("action", "confirm", "said"),
    [
        ("decline", True, "(decline)"),
        ("cancel", True, "(cancel)"),
        ("accept", False, "(accepted without ticking confirm)"),
    ],
)
async def test_anything_but_a_ticked_yes_changes_nothing_and_says_so(
    late_transport: ContractCheckingTransport, state: SandboxState, action: str, confirm: bool, said: str
) -> None:
    kept = draft(state, "Keep me")
    server = build_server(make_settings(), transport=late_transport)
    callback = asking(action, confirm=confirm)
    async with Client(server, mode=MODERN, elicitation_callback=callback) as client:
        result = await client.call_tool("posts_delete", {"post_id": kept})
    assert len(callback.asked) == 1
    assert not result.is_error and structured(result)["status"] == "declined"
    assert f"Not done: the person did not confirm {said}. Nothing was changed." in body(result)
    assert kept in state.posts and deletes(state, kept) == 0


async def test_a_modern_client_without_elicitation_gets_the_preview_and_its_token(
    late_transport: ContractCheckingTransport, state: SandboxState
) -> None:
    doomed = draft(state, "Token way")
    server = build_server(make_settings(), transport=late_transport)
    async with Client(server, mode=MODERN) as client:
        preview = await client.call_tool("posts_delete", {"post_id": doomed})
        token = structured(preview)["confirm_token"]
        done = await client.call_tool("posts_delete", {"post_id": doomed, "confirm": token})
    assert "Preview only, nothing was changed" in body(preview)
    assert not done.is_error and deletes(state, doomed) == 1


async def test_the_handshake_era_still_asks_in_the_middle_of_the_call(
    late_transport: ContractCheckingTransport, state: SandboxState
) -> None:
    doomed = draft(state, "Old way")
    server = build_server(make_settings(), transport=late_transport)
    yes = asking("accept", confirm=True)
    async with Client(server, mode="legacy", elicitation_callback=yes) as client:
        assert client.session.protocol_version != MODERN
        result = await client.call_tool("posts_delete", {"post_id": doomed})
    assert not result.is_error and len(yes.asked) == 1 and deletes(state, doomed) == 1


# -- the sealed state: shared keys, bound to caller, tool and arguments, fails closed ------------


async def first_round(client: Client, post_id: str) -> InputRequiredResult:
    asked = await client.session.call_tool("posts_delete", {"post_id": post_id}, allow_input_required=True)
    assert isinstance(asked, InputRequiredResult), asked
    assert asked.input_requests is not None and list(asked.input_requests) == [CONFIRM_QUESTION]
    assert asked.request_state is not None
    return asked


YES: types.InputResponses = {CONFIRM_QUESTION: types.ElicitResult(action="accept", content={"confirm": True})}


async def retry(client: Client, post_id: str, state: str, **arguments: Any) -> CallToolResult:
    result = await client.session.call_tool(
        "posts_delete", {"post_id": post_id, **arguments}, input_responses=YES, request_state=state
    )
    assert isinstance(result, CallToolResult)
    return result


async def test_state_sealed_by_one_server_opens_on_another_sharing_the_journal_secret_only(
    late_transport: ContractCheckingTransport, state: SandboxState, tmp_path: Path
) -> None:
    doomed = draft(state, "Across servers")
    journal = tmp_path / "journal.sqlite3"
    one = build_server(make_settings(journal_path=journal), transport=late_transport)
    two = build_server(make_settings(journal_path=journal), transport=late_transport)
    stranger = build_server(make_settings(journal_path=tmp_path / "other.sqlite3"), transport=late_transport)
    yes = asking("accept", confirm=True)
    async with (
        Client(one, mode=MODERN, elicitation_callback=yes) as on_one,
        Client(two, mode=MODERN, elicitation_callback=yes) as on_two,
        Client(stranger, mode=MODERN, elicitation_callback=yes) as on_stranger,
    ):
        asked = await first_round(on_one, doomed)
        assert asked.request_state is not None
        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await retry(on_stranger, doomed, asked.request_state)
        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await retry(on_two, "0" * 24, asked.request_state)  # another post: another call
        assert deletes(state, doomed) == 0
        done = await retry(on_two, doomed, asked.request_state)
    assert not done.is_error and f"Deleted post {doomed}" in body(done), body(done)
    assert deletes(state, doomed) == 1


async def test_the_state_is_sealed_and_a_bare_confirm_token_is_not_state(
    late_transport: ContractCheckingTransport, state: SandboxState
) -> None:
    doomed = draft(state, "Opaque")
    server = build_server(make_settings(), transport=late_transport)
    async with (
        Client(server, mode=MODERN, elicitation_callback=asking("accept", confirm=True)) as client,
        Client(server, mode=MODERN) as without_elicitation,
    ):
        asked = await first_round(client, doomed)
        preview = await without_elicitation.call_tool("posts_delete", {"post_id": doomed})
        token = structured(preview)["confirm_token"]
        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await retry(client, doomed, token)
    assert asked.request_state is not None and asked.request_state.startswith("v1.")
    assert not re.search(r"c\d{10}\.", asked.request_state)  # the confirm token inside is encrypted
    assert deletes(state, doomed) == 0


async def test_state_is_bound_to_the_caller_that_was_asked(
    late_transport: ContractCheckingTransport, state: SandboxState, store: SQLiteTokenStore
) -> None:
    alice, bob = store.create("alice", (), False), store.create("bob", (), False)
    doomed = draft(state, "Alice's to delete")
    async with (
        running(late_transport, HttpSettings(transport="http"), store) as base,
        http_client(base, alice, elicitation_callback=asking("accept", confirm=True)) as as_alice,
        http_client(base, bob, elicitation_callback=asking("accept", confirm=True)) as as_bob,
    ):
        asked = await first_round(as_alice, doomed)
        assert asked.request_state is not None
        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await retry(as_bob, doomed, asked.request_state)
        assert deletes(state, doomed) == 0
        done = await retry(as_alice, doomed, asked.request_state)
    assert not done.is_error and deletes(state, doomed) == 1


async def test_an_unreadable_signing_secret_refuses_confirmations_and_state_until_fixed(
    late_transport: ContractCheckingTransport, state: SandboxState, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite3"
    secret = secret_file_for(journal)
    secret.write_text("ab" * 32 + "\n")
    os.chmod(secret, 0o644)  # readable by others: late-mcp will not use it
    doomed = draft(state, "Not without the secret")
    server = build_server(make_settings(journal_path=journal), transport=late_transport)
    sealed_elsewhere = build_server(make_settings(journal_path=journal), transport=late_transport)
    yes = asking("accept", confirm=True)
    async with Client(server, mode=MODERN, elicitation_callback=yes) as client:
        refused = await client.call_tool("posts_delete", {"post_id": doomed})
        assert refused.is_error and yes.asked == []
        assert "confirmations are refused because the signing secret" in body(refused)
        assert f"is readable by other users (mode 0644); run chmod 600 {secret}" in body(refused)
        os.chmod(secret, 0o600)
        async with Client(sealed_elsewhere, mode=MODERN, elicitation_callback=yes) as other:
            asked = await first_round(other, doomed)
        assert asked.request_state is not None
        os.chmod(secret, 0o644)
        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await retry(client, doomed, asked.request_state)  # never opened with a made-up key
        assert deletes(state, doomed) == 0
        os.chmod(secret, 0o600)  # fixed: the next call reads it
        done = await retry(client, doomed, asked.request_state)
    assert not done.is_error and deletes(state, doomed) == 1


# -- no sessions on 2026-07-28; sessions as before on the handshake era -------------------------


async def test_a_stateful_server_answers_modern_clients_without_sessions_and_old_ones_with(
    late_transport: ContractCheckingTransport, store: SQLiteTokenStore
) -> None:
    token = store.create("alice", (), False)
    seen: list[httpx2.Response] = []

    async def keep(response: httpx2.Response) -> None:
        seen.append(response)

    async with running(late_transport, HttpSettings(transport="http"), store) as base:
        for mode in (MODERN, "legacy"):
            http = httpx2.AsyncClient(
                headers={"Authorization": f"Bearer {token}"}, event_hooks={"response": [keep]}, timeout=30
            )
            async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=mode) as client:  # type: ignore[arg-type]
                listed = await client.list_tools()
                profiles = await client.call_tool("profiles_list", {})
            assert listed.tools and not profiles.is_error, mode
            sessions = {r.headers.get("mcp-session-id") for r in seen} - {None}
            versions = {r.request.headers.get("mcp-protocol-version") for r in seen} - {None}
            if mode == MODERN:
                assert sessions == set() and versions == {MODERN}, (sessions, versions)
            else:
                assert len(sessions) == 1 and MODERN not in versions, (sessions, versions)
            seen.clear()


async def test_calls_that_bring_no_state_never_wait_for_the_signing_secret(
    late_transport: ContractCheckingTransport, caplog: pytest.LogCaptureFixture
) -> None:
    """With the secret's Redis down, reads on 2026-07-28 answer, and the secret is neither tried
    nor logged for them (its Redis could be slow to refuse, not only down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        down = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    server = build_server(make_settings(redis_url=down), transport=late_transport)
    async with Client(server, mode=MODERN, elicitation_callback=asking("accept", confirm=True)) as client:
        for _ in range(3):
            listed = await client.call_tool("profiles_list", {})
            assert not listed.is_error, body(listed)
    assert [r.getMessage() for r in caplog.records if "requestState" in r.getMessage()] == []


@contextmanager
def signed_in_with_oauth(subject: str) -> Iterator[None]:
    """What the SDK's bearer middleware leaves for a request it authenticated (the OAuth door)."""
    token = AccessToken(token="opaque", client_id="claude-ai", scopes=[], subject=subject)
    reset = auth_context_var.set(AuthenticatedUser(token))
    try:
        yield
    finally:
        auth_context_var.reset(reset)


async def test_state_is_bound_to_the_person_an_oauth_application_acts_for(
    late_transport: ContractCheckingTransport, state: SandboxState
) -> None:
    doomed = draft(state, "Only Alice confirms")
    server = build_server(make_settings(), transport=late_transport)
    async with Client(server, mode=MODERN, elicitation_callback=asking("accept", confirm=True)) as client:
        with signed_in_with_oauth("alice"):
            asked = await first_round(client, doomed)
        assert asked.request_state is not None
        with signed_in_with_oauth("bob"), pytest.raises(MCPError, match="Invalid or expired requestState"):
            await retry(client, doomed, asked.request_state)
        assert deletes(state, doomed) == 0
        with signed_in_with_oauth("alice"):
            done = await retry(client, doomed, asked.request_state)
    assert not done.is_error and deletes(state, doomed) == 1
