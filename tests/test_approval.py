"""The client's approval before anything goes out (issue 17, item 4).

`posts_create(requires_approval=true)` makes a post Late keeps as `pending_approval`;
`posts_list(status="pending_approval", profile_id=...)` lists a client's; `posts_review` previews
exactly the post and, confirmed, approves or rejects it once. Through a real MCP client session,
the server talking HTTP to the sandbox (every request checked against the spec, with the approval
routes the seed spec lacks checked by hand: tests/contract.py UNSPECCED_TEMPLATES); the scope test
and the two replicas run the real HTTP app on sockets.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult

import contract
from conftest import asking, call, confirmed, fails, make_settings, ok, structured, text
from contract import ContractCheckingTransport
from httpserve import connect, running
from late_mcp.auth.tokens import SQLiteTokenStore
from late_mcp.config.http import HttpSettings
from late_mcp.sandbox import SandboxError, SandboxState
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_INSTAGRAM,
    SEED_ACCOUNT_ACME_LINKEDIN,
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_ACCOUNT_NORDIC_TWITTER,
    SEED_PROFILE_ACME,
    SEED_PROFILE_NORDIC,
)
from late_mcp.server.build import build_server

pytestmark = pytest.mark.anyio
ACME, NORDIC = SEED_PROFILE_ACME, SEED_PROFILE_NORDIC
SHARED = "shared-secret-for-the-whole-agency-0123456789"
PENDING = "pending_approval"


def tomorrow_nine() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT09:00")


def awaiting(content: str, account: str = SEED_ACCOUNT_ACME_TWITTER, **more: Any) -> dict[str, Any]:
    """posts_create's arguments for a post awaiting approval tomorrow at 09:00 Amsterdam time."""
    return {
        "content": content,
        "accounts": [account],
        "scheduled_for": tomorrow_nine(),
        "timezone": "Europe/Amsterdam",
        "requires_approval": True,
        **more,
    }


def reviews(state: SandboxState, post_id: str) -> int:
    """How many review requests for the post reached the stand-in."""
    return state.requests.count(("POST", f"/api/v1/posts/{post_id}/review"))


async def pending_post(client: Client, content: str, **more: Any) -> str:
    created = await ok(client, "posts_create", **awaiting(content, **more))
    return str(created["post"]["id"])


# -- creating -----------------------------------------------------------------------------------


async def test_a_post_made_awaiting_approval_is_pending_and_names_posts_review(
    mcp: Client, state: SandboxState
) -> None:
    result = await call(mcp, "posts_create", **awaiting("Our winter menu is here"))
    assert not result.is_error, text(result)
    data = structured(result)
    post_id = data["post"]["id"]
    assert data["post"]["status"] == PENDING and state.posts[post_id]["status"] == PENDING
    summary = text(result).split("\n", 1)[0]
    assert "Awaiting the client's approval" in summary and f"posts_review(post_id={post_id}" in summary
    assert "never publishes until" in summary and "Europe/Amsterdam" in summary
    sent = datetime.fromisoformat(state.posts[post_id]["scheduledFor"])
    assert sent == datetime.fromisoformat(data["when"]["utc"])
    read = text(await call(mcp, "posts_get", post_id=post_id)).split("\n", 1)[0]
    assert f"never publishes until posts_review(post_id={post_id}) approves it" in read
    state.clock = lambda: datetime.now(UTC) + timedelta(days=2)  # its time passes unapproved
    assert state.publish_due() == [] and state.posts[post_id]["status"] == PENDING


async def test_a_post_for_now_awaiting_approval_asks_no_publish_confirmation_and_publishes_nothing(
    mcp: Client, state: SandboxState
) -> None:
    arguments = {"content": "Flash sale, today only", "accounts": [SEED_ACCOUNT_ACME_TWITTER]}
    result = await call(mcp, "posts_create", **arguments, publish_now=True, requires_approval=True)
    assert not result.is_error, text(result)
    data = structured(result)
    assert "confirm_token" not in data and data["post"]["status"] == PENDING
    summary = text(result).split("\n", 1)[0]
    assert "nothing was published now" in summary and "posts_review" in summary
    (post,) = [p for p in state.posts.values() if p["content"] == arguments["content"]]
    assert post["status"] == PENDING and "publishedAt" not in post
    assert ("POST", "/api/v1/posts") in state.requests
    # Approved once its moment has passed, it publishes at once.
    state.clock = lambda: datetime.now(UTC) + timedelta(minutes=10)
    done = await confirmed(mcp, "posts_review", post_id=post["_id"], decision="approve")
    assert done["post"]["status"] == "published" and state.posts[post["_id"]]["status"] == "published"


async def test_the_same_post_for_now_awaiting_approval_sent_twice_at_once_is_made_once(
    mcp: Client, state: SandboxState
) -> None:
    """Its scheduledFor is a moment after each call, yet it is the same post: the duplicate guard
    keeps one, whether the calls race or come one after the other."""
    arguments = {
        "content": "Doors open now",
        "accounts": [SEED_ACCOUNT_ACME_TWITTER],
        "publish_now": True,
        "requires_approval": True,
    }
    results: list[CallToolResult] = []

    async def create() -> None:
        results.append(await call(mcp, "posts_create", **arguments))

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(create)
    await anyio.sleep(1.1)  # the next call's moment is another second (scheduledFor has seconds)
    results.append(await call(mcp, "posts_create", **arguments))
    assert all(not r.is_error for r in results), [text(r) for r in results if r.is_error]
    assert [p["status"] for p in state.posts.values() if p["content"] == arguments["content"]] == [PENDING]
    assert sum("Not sent again: the same post already exists" in text(r) for r in results) == 3


async def test_requires_approval_with_a_draft_or_the_queue_is_refused_unsent(
    mcp: Client, state: SandboxState
) -> None:
    base = {
        "content": "Draft for the client",
        "accounts": [SEED_ACCOUNT_ACME_TWITTER],
        "requires_approval": True,
    }
    draft = await fails(mcp, "posts_create", **base, is_draft=True)
    queued = await fails(mcp, "posts_create", **base, use_queue=True, profile_id=ACME)
    assert "requires_approval cannot go with is_draft" in draft and "Give scheduled_for" in draft
    assert "requires_approval cannot go with use_queue" in queued and "queue_preview" in queued
    assert ("POST", "/api/v1/posts") not in state.requests


# -- listing per client ---------------------------------------------------------------------------


async def test_posts_list_shows_each_client_only_its_posts_awaiting_approval(
    mcp: Client, state: SandboxState
) -> None:
    acme = await pending_post(mcp, "Acme: new bread")
    nordic = await pending_post(mcp, "Nordic: new tents", account=SEED_ACCOUNT_NORDIC_TWITTER)
    scheduled = await ok(
        mcp,
        "posts_create",
        content="Acme: already approved",
        accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for=tomorrow_nine(),
        timezone="Europe/Amsterdam",
    )
    for ignored in (False, True):  # also from a Late that ignores the status filter
        state.ignores_status_filter = ignored
        listed = await ok(mcp, "posts_list", status=PENDING, profile_id=ACME)
        assert [p["id"] for p in listed["posts"]] == [acme], ignored
        others = await ok(mcp, "posts_list", status=PENDING, profile_id=NORDIC)
        assert [p["id"] for p in others["posts"]] == [nordic], ignored
    assert scheduled["post"]["status"] == "scheduled"


# -- deciding -------------------------------------------------------------------------------------


async def test_concurrent_approvals_of_one_post_act_once(mcp: Client, state: SandboxState) -> None:
    post_id = await pending_post(mcp, "Approve me once")
    preview = await ok(mcp, "posts_review", post_id=post_id, decision="approve")
    assert preview["status"] == "preview" and reviews(state, post_id) == 0
    assert preview["preview"]["effect"].startswith("Schedules the post: it publishes publicly at")
    results: list[CallToolResult] = []

    async def approve() -> None:
        arguments = {"post_id": post_id, "decision": "approve", "confirm": preview["confirm_token"]}
        results.append(await call(mcp, "posts_review", **arguments))

    async with anyio.create_task_group() as group:
        for _ in range(6):
            group.start_soon(approve)
    assert all(not r.is_error for r in results), [text(r) for r in results if r.is_error]
    assert reviews(state, post_id) == 1 and state.posts[post_id]["status"] == "scheduled"
    assert sum("Replayed" in text(r) for r in results) == 5
    journal = await ok(mcp, "journal_recent", tool_name="posts_review")
    assert [(e["tool"], e["outcome"]) for e in journal["entries"]] == [("posts_review", "ok")]


async def test_reject_returns_the_post_to_draft_and_a_second_decision_is_refused(
    mcp: Client, state: SandboxState
) -> None:
    post_id = await pending_post(mcp, "Not like this")
    rejected = await confirmed(mcp, "posts_review", post_id=post_id, decision="reject")
    assert rejected["post"]["status"] == "draft" and state.posts[post_id]["status"] == "draft"
    again = await fails(mcp, "posts_review", post_id=post_id, decision="approve")
    assert f"Post {post_id} is draft, not {PENDING}" in again
    assert "only a post awaiting approval can be reviewed" in again and "posts_list(status=" in again
    assert reviews(state, post_id) == 1


async def test_two_previews_confirmed_at_once_decide_once_and_the_loser_is_told_why(
    mcp: Client, state: SandboxState
) -> None:
    """Two people approve and reject the same post at the same moment: Late takes one decision
    (409 for the other), and the other is told it was decided meanwhile."""
    post_id = await pending_post(mcp, "Who decides")
    previews = [await ok(mcp, "posts_review", post_id=post_id, decision=d) for d in ("approve", "reject")]
    results: list[CallToolResult] = []

    async def decide(decision: str, token: str) -> None:
        results.append(await call(mcp, "posts_review", post_id=post_id, decision=decision, confirm=token))

    async with anyio.create_task_group() as group:
        for decision, preview in zip(("approve", "reject"), previews, strict=True):
            group.start_soon(decide, decision, preview["confirm_token"])
    wins = [r for r in results if not r.is_error]
    losses = [text(r) for r in results if r.is_error]
    assert len(wins) == 1 and len(losses) == 1, [text(r) for r in results]
    assert "not pending_approval" in losses[0] or "decided in the meantime" in losses[0], losses[0]
    assert state.posts[post_id]["status"] in {"scheduled", "draft"}


async def test_reviewing_a_post_not_awaiting_approval_is_refused_with_its_status(
    mcp: Client, state: SandboxState
) -> None:
    scheduled = await ok(
        mcp,
        "posts_create",
        content="Already scheduled",
        accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for=tomorrow_nine(),
        timezone="Europe/Amsterdam",
    )
    post_id = scheduled["post"]["id"]
    refused = await fails(mcp, "posts_review", post_id=post_id, decision="approve")
    assert f"Post {post_id} is scheduled, not {PENDING}" in refused and "nothing was changed" in refused
    assert reviews(state, post_id) == 0 and state.posts[post_id]["status"] == "scheduled"


async def test_a_token_limited_to_one_client_cannot_review_another_clients_post(
    late_transport: ContractCheckingTransport, state: SandboxState, tmp_path: Path
) -> None:
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    acme_only = store.create("acme-reviewer", (ACME,), False)
    http = HttpSettings(transport="http", token=SHARED)
    async with running(late_transport, http, store, journal_path=tmp_path / "journal.sqlite3") as base:
        async with connect(base, SHARED) as admin:
            nordic = await pending_post(admin, "Nordic only", account=SEED_ACCOUNT_NORDIC_TWITTER)
            acme = await pending_post(admin, "Acme's own")
        async with connect(base, acme_only) as limited:
            preview = await limited.call_tool("posts_review", {"post_id": nordic, "decision": "approve"})
            listed = await limited.call_tool("posts_list", {"status": PENDING})
            own = await limited.call_tool("posts_review", {"post_id": acme, "decision": "approve"})
            token = structured(own)["confirm_token"]
            arguments = {"post_id": acme, "decision": "approve", "confirm": token}
            approved = await limited.call_tool("posts_review", arguments)
    assert preview.is_error
    assert f"Post {nordic} was not found among the profiles this access token may use" in text(preview)
    assert "Nordic only" not in text(preview)
    assert [p["id"] for p in structured(listed)["posts"]] == [acme]
    assert not own.is_error and structured(own)["status"] == "preview"
    assert not approved.is_error, text(approved)
    assert reviews(state, acme) == 1 and state.posts[acme]["status"] == "scheduled"
    assert reviews(state, nordic) == 0 and state.posts[nordic]["status"] == PENDING


# -- the preview ----------------------------------------------------------------------------------


async def test_the_preview_shows_exactly_the_post_every_thread_part_text_media_and_time(
    mcp: Client, state: SandboxState, late_transport: ContractCheckingTransport
) -> None:
    media = "https://cdn.example.com/bread.jpg"
    post_id = await pending_post(
        mcp,
        "1/ Our sourdough story",
        accounts=[SEED_ACCOUNT_ACME_TWITTER, SEED_ACCOUNT_ACME_INSTAGRAM, SEED_ACCOUNT_ACME_LINKEDIN],
        media_urls=[media],
        custom_content={"linkedin": "The story of our sourdough, for professionals."},
        options={
            "twitter": {"thread": ["2/ It starts at 4 am", "3/ Come taste it"]},
            "instagram": {"first_comment": "#sourdough #bakery"},
        },
    )
    preview = (await ok(mcp, "posts_review", post_id=post_id, decision="approve"))["preview"]
    by_platform = {t["account"]["platform"]: t for t in preview["targets"]}
    assert by_platform["twitter"]["text"] == "1/ Our sourdough story"
    assert by_platform["twitter"]["thread"] == ["2/ It starts at 4 am", "3/ Come taste it"]
    assert by_platform["instagram"]["first_comment"] == "#sourdough #bakery"
    assert by_platform["linkedin"]["text"] == "The story of our sourdough, for professionals."
    assert all(t["account"]["profile"] == "Acme Bakery" for t in preview["targets"])
    assert preview["media"] == [media]
    assert preview["when"]["local"].endswith("09:00 Europe/Amsterdam")
    assert preview["when"]["zone_source"] == "the post's zone"
    # A client that asks the person directly shows every part in the dialog.
    dialog = asking("decline")
    server = build_server(make_settings(), transport=late_transport)
    async with Client(server, mode="legacy", elicitation_callback=dialog) as asked:
        declined = await ok(asked, "posts_review", post_id=post_id, decision="approve")
    assert declined["status"] == "declined" and reviews(state, post_id) == 0
    (message,) = dialog.asked
    for part in (
        "2/ It starts at 4 am",
        "3/ Come taste it",
        "#sourdough #bakery",
        "for professionals",
        media,
    ):
        assert part in message, (part, message)


# -- replicas -------------------------------------------------------------------------------------


async def test_a_confirm_from_one_replica_acts_once_on_the_other(
    late_transport: ContractCheckingTransport, state: SandboxState, tmp_path: Path
) -> None:
    """Two servers sharing one journal file: a preview made on one is confirmed on both at once,
    and the post is approved once."""
    http = HttpSettings(transport="http", token=SHARED)
    journal = tmp_path / "journal.sqlite3"
    async with (
        running(late_transport, http, journal_path=journal) as one,
        running(late_transport, http, journal_path=journal) as two,
        connect(one, SHARED) as first,
        connect(two, SHARED) as second,
    ):
        post_id = await pending_post(first, "Approved across replicas")
        preview = await ok(first, "posts_review", post_id=post_id, decision="approve")
        results: list[CallToolResult] = []

        async def approve(client: Client) -> None:
            arguments = {"post_id": post_id, "decision": "approve", "confirm": preview["confirm_token"]}
            results.append(await client.call_tool("posts_review", arguments))

        async with anyio.create_task_group() as group:
            for n in range(6):
                group.start_soon(approve, (second, first)[n % 2])
    assert all(not r.is_error for r in results), [text(r) for r in results if r.is_error]
    assert reviews(state, post_id) == 1 and state.posts[post_id]["status"] == "scheduled"
    assert sum("Replayed" in text(r) for r in results) == 5


# -- the contract the seed spec lacks --------------------------------------------------------------


def test_the_review_route_and_the_pending_status_are_checked_by_hand() -> None:
    checker = contract.load_or_skip()
    review = "/v1/posts/64e000000000000000000001/review"
    assert checker.check_request("POST", review, [], {"decision": "approve"}) is not None
    for query, sent, why in (
        ([], {"decision": "maybe"}, "request body '$.decision'"),
        ([], {"decision": "approve", "note": "x"}, "Additional properties"),
        ([], None, "None is not of type 'object'"),
        ([("force", "1")], {"decision": "reject"}, "takes no query parameters"),
    ):
        with pytest.raises(contract.ContractViolation, match=re.escape(why)):
            checker.check_request("POST", review, query, sent)
    assert checker.check_request("GET", "/v1/posts", [("status", PENDING)], None) == "/v1/posts"
    with pytest.raises(contract.ContractViolation, match="query parameter 'status'"):
        checker.check_request("GET", "/v1/posts", [("status", "awaiting")], None)


# -- the stand-in ---------------------------------------------------------------------------------


def test_the_sandbox_models_approval_like_late() -> None:
    state = SandboxState()
    target = [{"platform": "twitter", "accountId": SEED_ACCOUNT_ACME_TWITTER}]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    post = state.create_post(
        {"content": "x", "platforms": target, "scheduledFor": later, "requiresApproval": True}
    )
    assert post["status"] == PENDING
    for clash in ({"isDraft": True}, {"publishNow": True}, {"queuedFromProfile": ACME}):
        with pytest.raises(SandboxError, match="requiresApproval cannot be combined with"):
            state.create_post(
                {
                    "content": "y",
                    "platforms": target,
                    "scheduledFor": later,
                    "requiresApproval": True,
                    **clash,
                }
            )
    with pytest.raises(SandboxError, match="requiresApproval needs scheduledFor"):
        state.create_post({"content": "z", "platforms": target, "requiresApproval": True})
    with pytest.raises(SandboxError, match="decision must be one of: approve, reject") as bad:
        state.review_post(post["_id"], {"decision": "maybe"})
    assert bad.value.status == 400
    assert state.review_post(post["_id"], {"decision": "approve"})["status"] == "scheduled"
    with pytest.raises(SandboxError, match="not pending approval") as second:
        state.review_post(post["_id"], {"decision": "reject"})
    assert second.value.status == 409
    listed = state.list_posts(status=PENDING)
    assert listed["posts"] == []
