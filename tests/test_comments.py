"""Comments: list them, reply within the platform's limit (journaled, sent once), hide where allowed."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client

from conftest import fails, ok
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_INSTAGRAM,
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_PROFILE_ACME,
    SandboxState,
)

pytestmark = pytest.mark.anyio


async def commented(mcp: Client, account_id: str) -> tuple[str, str]:
    """The newest commented post of the account, and its first comment's id."""
    listed = await ok(mcp, "comments_list", account_id=account_id)
    post_id = listed["posts"][0]["id"]
    comments = await ok(mcp, "comments_list", post_id=post_id)
    return post_id, comments["comments"][0]["id"]


def inbox_posts(state: SandboxState) -> list[tuple[str, str]]:
    return [r for r in state.requests if r[0] == "POST" and r[1].startswith("/api/v1/inbox/")]


async def test_comments_listed_and_a_reply_sent_and_journaled(mcp: Client, state: SandboxState) -> None:
    listed = await ok(mcp, "comments_list", profile_id=SEED_PROFILE_ACME)
    assert listed["posts"] and all(p["comment_count"] > 0 for p in listed["posts"])
    assert {p["account_id"] for p in listed["posts"]} <= set(state.accounts)
    post_id = next(p["id"] for p in listed["posts"] if p["platform"] == "instagram")
    comments = await ok(mcp, "comments_list", post_id=post_id)
    assert comments["account_id"] == SEED_ACCOUNT_ACME_INSTAGRAM and len(comments["comments"]) == 3
    first = comments["comments"][0]
    assert first["message"] and first["author"]["name"] and first["can_hide"] is True
    reply = await ok(mcp, "comments_reply", post_id=post_id, comment_id=first["id"], text="Yes, 8 to 14!")
    assert reply["reply_id"] and reply["account_id"] == SEED_ACCOUNT_ACME_INSTAGRAM
    stored = state.comments[post_id][0]["replies"]
    assert [r["message"] for r in stored] == ["Yes, 8 to 14!"] and stored[0]["from"]["isOwner"] is True
    entries = [e for e in (await ok(mcp, "journal_recent"))["entries"] if e["tool"] == "comments_reply"]
    assert len(entries) == 1 and entries[0]["outcome"] == "ok"


async def test_reply_over_the_platform_limit_is_refused_unsent(mcp: Client, state: SandboxState) -> None:
    post_id, comment_id = await commented(mcp, SEED_ACCOUNT_ACME_TWITTER)
    message = await fails(mcp, "comments_reply", post_id=post_id, comment_id=comment_id, text="x" * 281)
    assert "281 characters" in message and "twitter allows 280" in message
    assert inbox_posts(state) == []
    assert await ok(mcp, "comments_reply", post_id=post_id, comment_id=comment_id, text="x" * 280)


async def test_hide_where_the_platform_allows_it(mcp: Client, state: SandboxState) -> None:
    post_id, comment_id = await commented(mcp, SEED_ACCOUNT_ACME_INSTAGRAM)
    hidden = await ok(mcp, "comments_hide", post_id=post_id, comment_id=comment_id)
    assert hidden["hidden"] is True and state.comments[post_id][0]["isHidden"] is True
    post_id, comment_id = await commented(mcp, SEED_ACCOUNT_ACME_TWITTER)
    message = await fails(mcp, "comments_hide", post_id=post_id, comment_id=comment_id)
    assert "twitter does not let comments be hidden" in message and "facebook, instagram, threads" in message
    assert not state.comments[post_id][0]["isHidden"]


async def test_concurrent_identical_replies_send_once(mcp: Client, state: SandboxState) -> None:
    post_id, comment_id = await commented(mcp, SEED_ACCOUNT_ACME_INSTAGRAM)
    args = {
        "post_id": post_id,
        "comment_id": comment_id,
        "text": "Thank you!",
        "idempotency_key": "reply-k-1",
    }

    async def one() -> None:
        await mcp.call_tool("comments_reply", args)

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(one)
    assert len(state.comments[post_id][0]["replies"]) == 1 and len(inbox_posts(state)) == 1


async def test_unknown_post_without_account_asks_for_it(mcp: Client) -> None:
    message = await fails(mcp, "comments_list", post_id="000000000000000000000000")
    assert "pass account_id" in message
