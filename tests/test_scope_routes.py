"""Profile scope on every route: a limited token names another client's thing, nothing reaches Late.

Each test runs the real HTTP app on a socket with a real token store (SQLite) and acts as a token
limited to Acme's profile (and, where it matters, as a token limited to two profiles, which Late's
single `profileId` filter cannot narrow). The Late stand-in records every request it handles, so
"refused before sending" is counted there, not assumed.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

from conftest import make_settings, structured
from contract import ContractCheckingTransport
from httpserve import connect, running
from late_mcp.auth.oauth_kv import SQLiteKeyValue
from late_mcp.auth.oauth_store import OAuthStore
from late_mcp.auth.principal import Principal, principal_var
from late_mcp.auth.tokens import SQLiteTokenStore
from late_mcp.config.http import HttpSettings
from late_mcp.late.client import LateClient
from late_mcp.late.errors import NotFoundError
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_FACEBOOK,
    SEED_ACCOUNT_ACME_INSTAGRAM,
    SEED_ACCOUNT_ACME_LINKEDIN,
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_ACCOUNT_NORDIC_TWITTER,
    SEED_ACCOUNT_NORDIC_YOUTUBE,
    SEED_PROFILE_ACME,
    SEED_PROFILE_NORDIC,
)
from late_mcp.tools import ALL_TOOLS
from oauthflow import grant_token

pytestmark = pytest.mark.anyio
ACME, NORDIC = SEED_PROFILE_ACME, SEED_PROFILE_NORDIC
ACME_ACCOUNTS = {
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_ACCOUNT_ACME_INSTAGRAM,
    SEED_ACCOUNT_ACME_LINKEDIN,
    SEED_ACCOUNT_ACME_FACEBOOK,
}
# A second profile of the limited token that Late does not know: the token spans two profiles, so
# the scope cannot hand Late one profileId and must filter the answers itself.
ELSEWHERE = "64a0000000000000000000ff"
NOT_OURS = "was not found among the profiles this access token may use"


def body(result: CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


async def data(client: Client, tool: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
    """The summary line and the structured result of a call that must succeed."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, f"{tool}: {body(result)}"
    assert isinstance(structured(result), dict)
    return body(result).split("\n", 1)[0], structured(result)


async def refusal(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} unexpectedly succeeded: {body(result)}"
    return body(result)


def commented_post(state: SandboxState, account_id: str) -> tuple[str, str]:
    """The newest commented post of an account in the stand-in, and its first comment."""
    posts = [p for p in state.comments if state.history[p]["accountId"] == account_id]
    newest = max(posts, key=lambda p: state.history[p]["publishedAt"])
    return newest, state.comments[newest][0]["id"]


def draft(state: SandboxState, content: str, account_id: str) -> str:
    """A draft in the stand-in, to the one account; its id."""
    post = state.create_post(
        {"content": content, "platforms": [{"platform": "twitter", "accountId": account_id}]}
    )
    return str(post["_id"])


def touching(state: SandboxState, since: int, *needles: str) -> list[tuple[str, str]]:
    """Requests the stand-in handled after `since` whose path names any of `needles`."""
    return [r for r in state.requests[since:] if any(n in r[1] for n in needles)]


def writes(state: SandboxState, since: int) -> list[tuple[str, str]]:
    return [r for r in state.requests[since:] if r[0] != "GET"]


@pytest.fixture
def store(tmp_path: Path) -> SQLiteTokenStore:
    return SQLiteTokenStore(tmp_path / "tokens.sqlite3")


@asynccontextmanager
async def server(
    transport: ContractCheckingTransport, store: SQLiteTokenStore, oauth: OAuthStore | None = None
) -> AsyncIterator[str]:
    async with running(
        transport, HttpSettings(transport="http"), store, oauth_store=oauth, confirm=False
    ) as base:
        yield base


@pytest.fixture(params=["scoped token", "OAuth grant"])
def kind(request: pytest.FixtureRequest, tmp_path: Path) -> OAuthStore | None:
    """How the caller got its limit: a scoped token, or an OAuth grant (consented profiles)."""
    return OAuthStore(SQLiteKeyValue(tmp_path / "oauth.sqlite3")) if request.param == "OAuth grant" else None


def limited(
    store: SQLiteTokenStore, oauth: OAuthStore | None, base: str, profiles: tuple[str, ...], read_only: bool
) -> str:
    """A token limited to `profiles`: from the token store, or from an OAuth grant on the server at `base`."""
    if oauth is None:
        return store.create("acme", profiles, read_only)
    return grant_token(oauth, base, profiles, read_only)


async def test_comment_routes_refuse_another_clients_post_before_sending(
    late_transport: ContractCheckingTransport,
    store: SQLiteTokenStore,
    state: SandboxState,
    kind: OAuthStore | None,
) -> None:
    theirs, their_comment = commented_post(state, SEED_ACCOUNT_NORDIC_TWITTER)
    ours, our_comment = commented_post(state, SEED_ACCOUNT_ACME_INSTAGRAM)
    before = {c["id"]: (c["replyCount"], c["isHidden"]) for c in state.comments[theirs]}
    async with (
        server(late_transport, store, kind) as base,
        connect(base, limited(store, kind, base, (ACME,), False)) as client,
    ):
        start = len(state.requests)
        refused = {
            "reply as an Acme account": await refusal(
                client,
                "comments_reply",
                post_id=theirs,
                comment_id=their_comment,
                text="Nice!",
                account_id=SEED_ACCOUNT_ACME_TWITTER,
            ),
            "hide as an Acme account": await refusal(
                client,
                "comments_hide",
                post_id=theirs,
                comment_id=their_comment,
                account_id=SEED_ACCOUNT_ACME_INSTAGRAM,
            ),
            "list as an Acme account": await refusal(
                client, "comments_list", post_id=theirs, account_id=SEED_ACCOUNT_ACME_TWITTER
            ),
        }
        unnamed = {
            "reply": await refusal(
                client, "comments_reply", post_id=theirs, comment_id=their_comment, text="Hi"
            ),
            "list": await refusal(client, "comments_list", post_id=theirs),
        }
        sent = touching(state, start, f"inbox/comments/{theirs}")
        # The caller's own post keeps working, with and without naming the account.
        _, listed = await data(client, "comments_list", post_id=ours)
        _, replied = await data(
            client, "comments_reply", post_id=ours, comment_id=our_comment, text="Thanks!"
        )
        _, hidden = await data(client, "comments_hide", post_id=ours, comment_id=our_comment)
    for what, text in refused.items():
        assert f"Post {theirs} {NOT_OURS}" in text, (what, text)
    for what, text in unnamed.items():
        assert f"Post {theirs} is not among the posts with comments" in text, (what, text)
    assert sent == [], "a request about the other client's post reached Late"
    assert {c["id"]: (c["replyCount"], c["isHidden"]) for c in state.comments[theirs]} == before
    assert listed["account_id"] == SEED_ACCOUNT_ACME_INSTAGRAM and listed["comments"]
    assert replied["reply_id"] and hidden["hidden"] is True


async def test_a_comment_of_another_post_is_refused_on_the_callers_own_post(
    late_transport: ContractCheckingTransport,
    store: SQLiteTokenStore,
    state: SandboxState,
    kind: OAuthStore | None,
) -> None:
    ours, _ = commented_post(state, SEED_ACCOUNT_ACME_INSTAGRAM)
    _, their_comment = commented_post(state, SEED_ACCOUNT_NORDIC_YOUTUBE)
    async with (
        server(late_transport, store, kind) as base,
        connect(base, limited(store, kind, base, (ACME,), False)) as client,
    ):
        start = len(state.requests)
        hide = await refusal(client, "comments_hide", post_id=ours, comment_id=their_comment)
        reply = await refusal(client, "comments_reply", post_id=ours, comment_id=their_comment, text="Hi")
    for text in (hide, reply):
        assert f"Comment {their_comment} {NOT_OURS}" in text, text
    assert writes(state, start) == []


async def test_two_clients_replying_at_once_each_reach_only_their_own_posts(
    late_transport: ContractCheckingTransport, store: SQLiteTokenStore, state: SandboxState
) -> None:
    tokens = {ACME: store.create("acme", (ACME,), False), NORDIC: store.create("nordic", (NORDIC,), False)}
    theirs, comment = commented_post(state, SEED_ACCOUNT_NORDIC_TWITTER)
    answers: dict[str, list[CallToolResult]] = {ACME: [], NORDIC: []}
    account = {ACME: SEED_ACCOUNT_ACME_TWITTER, NORDIC: SEED_ACCOUNT_NORDIC_TWITTER}

    async def reply(profile: str, n: int) -> None:
        async with connect(base, tokens[profile]) as client:
            arguments = {"post_id": theirs, "comment_id": comment, "text": f"Reply {profile[-1]}{n}"}
            answers[profile].append(
                await client.call_tool("comments_reply", {**arguments, "account_id": account[profile]})
            )

    async with server(late_transport, store) as base, anyio.create_task_group() as tg:
        for n in range(4):
            tg.start_soon(reply, ACME, n)
            tg.start_soon(reply, NORDIC, n)
    assert all(not r.is_error for r in answers[NORDIC]), [body(r) for r in answers[NORDIC]]
    for result in answers[ACME]:
        assert result.is_error and f"Post {theirs} {NOT_OURS}" in body(result), body(result)
    replies = state.comments[theirs][0]["replies"]
    assert sorted(r["message"] for r in replies) == [f"Reply 2{n}" for n in range(4)]
    assert {r["from"]["id"] for r in replies} == {SEED_ACCOUNT_NORDIC_TWITTER}


@pytest.mark.parametrize("profiles", [(ACME,), (ACME, ELSEWHERE)], ids=["one-profile", "two-profiles"])
async def test_accounts_health_counts_exactly_the_accounts_it_lists(
    late_transport: ContractCheckingTransport,
    store: SQLiteTokenStore,
    state: SandboxState,
    profiles: tuple[str, ...],
    kind: OAuthStore | None,
) -> None:
    state.token_expiry[SEED_ACCOUNT_ACME_LINKEDIN] = state.clock() - timedelta(days=1)
    state.token_expiry[SEED_ACCOUNT_NORDIC_TWITTER] = state.clock() - timedelta(days=1)
    async with (
        server(late_transport, store, kind) as base,
        connect(base, limited(store, kind, base, profiles, True)) as client,
    ):
        summary, health = await data(client, "accounts_health")
        named_summary, named = await data(client, "accounts_health", profile_id=ACME)
    for line, result in ((summary, health), (named_summary, named)):
        assert {a["account_id"] for a in result["accounts"]} == ACME_ACCOUNTS
        assert result["summary"] == {
            "total": 4,
            "healthy": 3,
            "warning": 0,
            "error": 1,
            "needs_reconnect": 1,
        }
        assert line == "4 accounts: 3 healthy, 0 warning, 1 error, 1 need reconnecting.", line


async def test_list_counts_match_what_is_shown_to_a_one_profile_token(
    late_transport: ContractCheckingTransport,
    store: SQLiteTokenStore,
    state: SandboxState,
    kind: OAuthStore | None,
) -> None:
    for n in range(3):
        draft(state, f"Acme {n}", SEED_ACCOUNT_ACME_TWITTER)
    for n in range(12):
        draft(state, f"Nordic {n}", SEED_ACCOUNT_NORDIC_TWITTER)
    state.create_invite({"profileId": NORDIC, "platform": "twitter"}, "http://late.test")
    state.create_invite({"profileId": ACME, "platform": "tiktok"}, "http://late.test")
    async with (
        server(late_transport, store, kind) as base,
        connect(base, limited(store, kind, base, (ACME,), True)) as client,
    ):
        shown = {
            "posts": await data(client, "posts_list"),
            "posts, 2 a page": await data(client, "posts_list", limit=2),
            "accounts": await data(client, "accounts_list"),
            "invites": await data(client, "invites_list"),
            "profiles": await data(client, "profiles_list"),
            "comments": await data(client, "comments_list"),
            "analytics": await data(client, "analytics_posts", limit=5),
            "followers": await data(client, "accounts_followers"),
            "usage": await data(client, "usage_stats"),
        }
    line, posts = shown["posts"]
    assert {p["content"] for p in posts["posts"]} == {f"Acme {n}" for n in range(3)}
    assert line == "3 posts (page 1 of 1, 3 in all).", line
    line, paged = shown["posts, 2 a page"]
    assert len(paged["posts"]) == 2 and line == "2 posts (page 1 of 2, 3 in all).", line
    assert shown["accounts"][0] == "4 accounts."
    assert shown["invites"][0] == "1 invite, 1 open."
    assert shown["profiles"][0] == "1 profile."
    line, comments = shown["comments"]
    assert comments["posts"] and {p["account_id"] for p in comments["posts"]} <= ACME_ACCOUNTS
    total = sum(p["comment_count"] for p in comments["posts"])
    assert line.startswith(f"{len(comments['posts'])} posts with {total} comments"), line
    line, analytics = shown["analytics"]
    acme_history = sum(1 for h in state.history.values() if h["profileId"] == ACME)
    assert analytics["total"] == acme_history and len(analytics["posts"]) == 5
    assert line.startswith(f"5 posts of {acme_history};"), line
    line, followers = shown["followers"]
    assert {a["account_id"] for a in followers["accounts"]} == ACME_ACCOUNTS
    assert line.startswith("4 accounts,"), line
    # The plan's profile count counts every client: a one-profile token is not told it.
    line, usage = shown["usage"]
    assert "profiles" not in usage["usage"] and "profiles" not in line, (line, usage)
    assert re.fullmatch(r"Plan \w+: \d+/\d+ uploads\.", line), line


async def test_list_counts_match_what_is_shown_to_a_two_profile_token(
    late_transport: ContractCheckingTransport,
    store: SQLiteTokenStore,
    state: SandboxState,
    kind: OAuthStore | None,
) -> None:
    for n in range(2):
        draft(state, f"Acme {n}", SEED_ACCOUNT_ACME_TWITTER)
    draft(state, "Nordic", SEED_ACCOUNT_NORDIC_TWITTER)
    async with (
        server(late_transport, store, kind) as base,
        connect(base, limited(store, kind, base, (ACME, ELSEWHERE), True)) as client,
    ):
        line, posts = await data(client, "posts_list")
        comments_line, comments = await data(client, "comments_list")
        analytics = await refusal(client, "analytics_posts")
        best = await refusal(client, "analytics_best_times")
        followers = await refusal(client, "accounts_followers")
    assert {p["content"] for p in posts["posts"]} == {"Acme 0", "Acme 1"}
    # Late's page count and total cover every client's posts: they are not shown as the caller's.
    assert "pagination" not in posts or "total" not in posts["pagination"], posts.get("pagination")
    assert re.fullmatch(r"2 posts on page 1 \(.*profile_id.*\)\.", line), line
    assert comments["posts"] and {p["account_id"] for p in comments["posts"]} <= ACME_ACCOUNTS
    total = sum(p["comment_count"] for p in comments["posts"])
    assert comments_line.startswith(f"{len(comments['posts'])} posts with {total} comments"), comments_line
    for text in (analytics, best, followers):
        assert "limited to 2 profiles" in text and "pass profile_id" in text, text


async def test_every_tool_naming_another_clients_thing_is_refused_and_sends_nothing(
    late_transport: ContractCheckingTransport,
    store: SQLiteTokenStore,
    state: SandboxState,
    kind: OAuthStore | None,
) -> None:
    """The inventory: each tool argument that names a profile, account, post, invite or comment,
    given the other client's, run all at once next to the caller's own writes (with a scoped token
    and with an OAuth grant)."""
    nordic_post = draft(state, "Nordic", SEED_ACCOUNT_NORDIC_TWITTER)
    failed = draft(state, "Nordic fail", SEED_ACCOUNT_NORDIC_TWITTER)
    state.fail_post(failed, "Platform timed out")
    invite = state.create_invite({"profileId": NORDIC, "platform": "twitter"}, "http://late.test")["_id"]
    theirs, their_comment = commented_post(state, SEED_ACCOUNT_NORDIC_TWITTER)
    ours, our_comment = commented_post(state, SEED_ACCOUNT_ACME_TWITTER)
    week = {"from_date": "2026-01-01", "to_date": "2026-01-31"}
    # tool -> (arguments, what the refusal names)
    table: dict[str, tuple[dict[str, Any], str]] = {
        "profiles_get": ({"profile_id": NORDIC}, f"Profile {NORDIC} {NOT_OURS}"),
        "profiles_update": ({"profile_id": NORDIC, "name": "Mine"}, f"Profile {NORDIC} {NOT_OURS}"),
        "profiles_delete": ({"profile_id": NORDIC}, f"Profile {NORDIC} {NOT_OURS}"),
        "invites_create": ({"profile_id": NORDIC, "platforms": ["twitter"]}, f"Profile {NORDIC} {NOT_OURS}"),
        "invites_list": ({"profile_id": NORDIC}, f"Profile {NORDIC} {NOT_OURS}"),
        "invites_revoke": ({"invite_id": invite}, f"Invite {invite} {NOT_OURS}"),
        "accounts_connect_link": (
            {"profile_id": NORDIC, "platform": "twitter"},
            f"Profile {NORDIC} {NOT_OURS}",
        ),
        "accounts_connect_link (telegram)": (
            {"profile_id": NORDIC, "platform": "telegram"},
            f"Profile {NORDIC} {NOT_OURS}",
        ),
        "accounts_list": ({"profile_id": NORDIC}, f"Profile {NORDIC} {NOT_OURS}"),
        "accounts_health": ({"profile_id": NORDIC}, f"Profile {NORDIC} {NOT_OURS}"),
        "accounts_disconnect": (
            {"account_id": SEED_ACCOUNT_NORDIC_TWITTER},
            f"No connected account has the id '{SEED_ACCOUNT_NORDIC_TWITTER}'",
        ),
        "posts_create": (
            {"content": "Hi", "accounts": [SEED_ACCOUNT_NORDIC_TWITTER], "is_draft": True},
            f"{SEED_ACCOUNT_NORDIC_TWITTER!r} is not a connected account id",
        ),
        "posts_create (queue)": (
            {
                "content": "Hi",
                "accounts": [SEED_ACCOUNT_ACME_TWITTER],
                "profile_id": NORDIC,
                "use_queue": True,
            },
            f"Profile {NORDIC} {NOT_OURS}",
        ),
        "posts_validate": (
            {"content": "Hi", "accounts": [SEED_ACCOUNT_NORDIC_TWITTER], "is_draft": True},
            f"{SEED_ACCOUNT_NORDIC_TWITTER!r} is not a connected account id",
        ),
        "posts_validate (profile)": (
            {"content": "Hi", "accounts": ["twitter"], "profile_id": NORDIC, "is_draft": True},
            f"Profile {NORDIC} {NOT_OURS}",
        ),
        "posts_list": ({"profile_id": NORDIC}, f"Profile {NORDIC} {NOT_OURS}"),
        "posts_calendar": ({"profile_id": NORDIC}, f"Profile {NORDIC} {NOT_OURS}"),
        "posts_get": ({"post_id": nordic_post}, f"Post {nordic_post} {NOT_OURS}"),
        "posts_logs": ({"post_id": nordic_post}, f"Post {nordic_post} {NOT_OURS}"),
        "posts_update": ({"post_id": nordic_post, "content": "Mine"}, f"Post {nordic_post} {NOT_OURS}"),
        "posts_delete": ({"post_id": nordic_post}, f"Post {nordic_post} {NOT_OURS}"),
        "posts_retry": ({"post_id": failed}, f"Post {failed} {NOT_OURS}"),
        "posts_review": ({"post_id": nordic_post, "decision": "approve"}, f"Post {nordic_post} {NOT_OURS}"),
        "queue_slots_get": ({"profile_id": NORDIC}, f"Profile {NORDIC} {NOT_OURS}"),
        "queue_slots_set": (
            {"profile_id": NORDIC, "timezone": "UTC", "slots": [{"day_of_week": 1, "time": "09:00"}]},
            f"Profile {NORDIC} {NOT_OURS}",
        ),
        "queue_preview": ({"profile_id": NORDIC}, f"Profile {NORDIC} {NOT_OURS}"),
        "queue_preview (one)": ({"profile_id": NORDIC, "count": 1}, f"Profile {NORDIC} {NOT_OURS}"),
        "analytics_posts": ({"profile_id": NORDIC}, f"Profile {NORDIC} {NOT_OURS}"),
        "analytics_best_times": ({"profile_id": NORDIC}, f"Profile {NORDIC} {NOT_OURS}"),
        "analytics_report": ({"profile_id": NORDIC, **week}, f"Profile {NORDIC} {NOT_OURS}"),
        "accounts_followers": ({"profile_id": NORDIC}, f"Profile {NORDIC} {NOT_OURS}"),
        "accounts_followers (accounts)": (
            {"account_ids": [SEED_ACCOUNT_ACME_TWITTER, SEED_ACCOUNT_NORDIC_TWITTER]},
            f"Account {SEED_ACCOUNT_NORDIC_TWITTER} {NOT_OURS}",
        ),
        "comments_list": ({"profile_id": NORDIC}, f"Profile {NORDIC} {NOT_OURS}"),
        "comments_list (account)": (
            {"account_id": SEED_ACCOUNT_NORDIC_TWITTER},
            f"Account {SEED_ACCOUNT_NORDIC_TWITTER} {NOT_OURS}",
        ),
        "comments_list (post)": (
            {"post_id": theirs, "account_id": SEED_ACCOUNT_ACME_TWITTER},
            f"Post {theirs} {NOT_OURS}",
        ),
        "comments_reply": (
            {
                "post_id": theirs,
                "comment_id": their_comment,
                "text": "Hi",
                "account_id": SEED_ACCOUNT_ACME_TWITTER,
            },
            f"Post {theirs} {NOT_OURS}",
        ),
        "comments_reply (account)": (
            {
                "post_id": ours,
                "comment_id": our_comment,
                "text": "Hi",
                "account_id": SEED_ACCOUNT_NORDIC_TWITTER,
            },
            f"Account {SEED_ACCOUNT_NORDIC_TWITTER} is not connected",
        ),
        "comments_hide (account)": (
            {"post_id": ours, "comment_id": our_comment, "account_id": SEED_ACCOUNT_NORDIC_TWITTER},
            f"Account {SEED_ACCOUNT_NORDIC_TWITTER} {NOT_OURS}",
        ),
        "comments_hide": (
            {"post_id": theirs, "comment_id": their_comment, "account_id": SEED_ACCOUNT_ACME_FACEBOOK},
            f"Post {theirs} {NOT_OURS}",
        ),
    }
    # Every tool that names a thing (its declared `touches`) is in the table, and each such argument
    # is given the other client's thing in some row; a tool naming nothing, or not offered to this
    # token, is not in the table.
    foreign = {NORDIC, SEED_ACCOUNT_NORDIC_TWITTER, nordic_post, failed, invite, theirs, their_comment}
    given_foreign: dict[str, set[str]] = {}
    for row, (arguments, _) in table.items():
        named = given_foreign.setdefault(row.split(" ")[0], set())
        for argument, value in arguments.items():
            if any(
                v in foreign for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)
            ):
                named.add(argument)
    naming = {t.name for t in ALL_TOOLS if t.touches and t.for_profile_limited}
    assert set(given_foreign) == naming, set(given_foreign) ^ naming
    for spec in ALL_TOOLS:
        if spec.name in naming:
            assert set(spec.touches.values()) <= given_foreign[spec.name], (
                spec.name,
                given_foreign[spec.name],
            )
    answers: dict[str, str] = {}
    own: list[CallToolResult] = []

    async def refuse(name: str, client: Client) -> None:
        answers[name] = await refusal(client, name.split(" ")[0], **table[name][0])

    async def own_write(client: Client, n: int) -> None:
        own.append(
            await client.call_tool(
                "posts_create",
                {"content": f"Ours {n}", "accounts": [SEED_ACCOUNT_ACME_TWITTER], "is_draft": True},
            )
        )

    async with (
        server(late_transport, store, kind) as base,
        connect(base, limited(store, kind, base, (ACME,), False)) as client,
    ):
        start = len(state.requests)
        async with anyio.create_task_group() as tg:
            for name in table:
                tg.start_soon(refuse, name, client)
            for n in range(3):
                tg.start_soon(own_write, client, n)
        sent = touching(state, start, f"inbox/comments/{theirs}")
        sent_writes = [w for w in writes(state, start) if w != ("POST", "/api/v1/posts")]
    for name, (_, reason) in table.items():
        assert reason in answers[name], (name, answers[name])
    assert all(not r.is_error for r in own), [body(r) for r in own]
    assert sent == [] and sent_writes == [], (sent, sent_writes)
    assert nordic_post in state.posts and invite in state.invites
    assert state.profiles[NORDIC]["name"] == "Nordic Outdoor"


async def test_routes_no_tool_uses_are_refused_and_named_ids_checked_on_every_route(
    late_transport: ContractCheckingTransport, state: SandboxState
) -> None:
    """The scope decides from the request alone, so a route or parameter no tool sends today is
    refused or checked all the same (the request never reaches the stand-in)."""
    ours, our_comment = commented_post(state, SEED_ACCOUNT_ACME_INSTAGRAM)
    nordic_post = draft(state, "Nordic", SEED_ACCOUNT_NORDIC_TWITTER)
    acme_post = draft(state, "Acme", SEED_ACCOUNT_ACME_TWITTER)
    insta = {"accountId": SEED_ACCOUNT_ACME_INSTAGRAM}
    nordic_target = [{"platform": "twitter", "accountId": SEED_ACCOUNT_NORDIC_TWITTER}]
    acme_target = [{"platform": "twitter", "accountId": SEED_ACCOUNT_ACME_TWITTER}]
    nordic_account = f"Account {SEED_ACCOUNT_NORDIC_TWITTER}"
    # (method, path, query, body, what the refusal names)
    attempts: list[tuple[str, str, dict[str, Any], Any, str]] = [
        ("DELETE", f"v1/inbox/comments/{ours}", {**insta, "commentId": our_comment}, None, "Resource"),
        ("POST", f"v1/inbox/comments/{ours}/{our_comment}/like", {}, insta, "Resource"),
        ("GET", "v1/analytics", {"profileId": ACME, "postId": nordic_post}, None, f"Post {nordic_post}"),
        ("PUT", f"v1/posts/{acme_post}", {}, {"platforms": nordic_target}, nordic_account),
        (
            "GET",
            "v1/queue/slots",
            {"profileId": ACME, "accountId": SEED_ACCOUNT_NORDIC_TWITTER},
            None,
            nordic_account,
        ),
        (
            "POST",
            "v1/posts",
            {},
            {"content": "x", "platforms": acme_target, "queuedFromProfile": NORDIC},
            f"Profile {NORDIC}",
        ),
        (
            "POST",
            "v1/posts",
            {},
            {"content": "x", "platforms": [{"platform": "twitter"}]},
            "Account (none given)",
        ),
    ]
    client = LateClient(make_settings(), transport=late_transport)
    reset = principal_var.set(Principal("acme", frozenset({ACME})))
    try:
        for method, path, query, json, named in attempts:
            start = len(state.requests)
            with pytest.raises(NotFoundError) as refused:
                await client.request(method, path, params=query, json=json)
            assert f"{named} " in str(refused.value) and NOT_OURS in str(refused.value), str(refused.value)
            assert (method, f"/api/{path}") not in state.requests[start:], (method, path)
    finally:
        principal_var.reset(reset)
        await client.aclose()
