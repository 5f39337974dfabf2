"""Comments on published posts (Late's inbox): read them, reply, hide where the platform allows."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.core.toolsets import Domain
from late_mcp.late.client import LateClient
from late_mcp.late.insights import Comment, CommentedPost
from late_mcp.rules.check import visible
from late_mcp.safety.idempotency import IdempotencyKey
from late_mcp.tools._addons import needing_addon
from late_mcp.tools._common import (
    ID_PATTERN,
    OptionalProfileId,
    PlatformFilter,
    ToolInputError,
    app,
    ok,
    plural,
    tool,
)
from late_mcp.tools._targets import load_account_names
from late_mcp.tools._views import View

ADDON = "Inbox"
NEEDS = "comments_* tools"
# Platforms whose comments Late's inbox reaches, and the longest reply each takes (characters).
REPLY_MAX = {"twitter": 280, "bluesky": 300, "threads": 500, "linkedin": 1250, "instagram": 2200,
             "facebook": 8000, "youtube": 10_000, "reddit": 10_000}  # fmt: skip
HIDE_PLATFORMS = ("facebook", "instagram", "threads")
PostRef = Annotated[str, Field(description="Post id from comments_list.", pattern=ID_PATTERN)]
CommentId = Annotated[
    str, Field(description="Comment id from comments_list.", pattern=r"^[A-Za-z0-9_.:=-]{1,200}$")
]
AccountRef = Annotated[
    str | None, Field(description="The post's account id (comments_list gives it).", pattern=ID_PATTERN)
]


class CommentedPosts(View):
    posts: list[CommentedPost]


class PostComments(View):
    post_id: str
    account_id: str
    comments: list[Comment]


async def _account_of(client: LateClient, post_id: str) -> str:
    """The account a commented post belongs to, from Late's inbox list."""
    listed = await needing_addon(client.commented_posts({"limit": 100}), ADDON, NEEDS)
    for post in listed.data:
        if post.id == post_id and post.account_id:
            return post.account_id
    raise ToolInputError(
        f"Post {post_id} is not among the posts with comments; pass account_id (comments_list shows it)."
    )


@tool(Domain.COMMENTS, "read", touches={"post": "post_id", "account": "account_id", "profile": "profile_id"})
async def comments_list(
    ctx: Context,
    post_id: Annotated[str | None, Field(description="One post's comments.", pattern=ID_PATTERN)] = None,
    account_id: AccountRef = None,
    profile_id: OptionalProfileId = None,
    platform: PlatformFilter = None,
    limit: Annotated[int, Field(ge=1, le=100)] = 20,
) -> CallToolResult:
    """Without post_id: posts that have comments, with counts and account ids. With post_id: its
    comments (id, author, text, can_hide) to answer with comments_reply."""
    client = app(ctx).client
    if post_id is None:
        params = {"accountId": account_id, "profileId": profile_id, "platform": platform,
                  "minComments": 1, "limit": limit}  # fmt: skip
        listed = await needing_addon(client.commented_posts(params), ADDON, NEEDS)
        total = sum(p.comment_count for p in listed.data)
        return ok(
            ctx,
            f"{plural(len(listed.data), 'post')} with {plural(total, 'comment')}; "
            "comments_list(post_id=...) reads them.",
            CommentedPosts(posts=listed.data),
        )
    account = account_id or await _account_of(client, post_id)
    found = await needing_addon(client.post_comments(post_id, account, limit), ADDON, NEEDS)
    return ok(
        ctx,
        f"{plural(len(found.comments), 'comment')} on post {post_id}.",
        PostComments(post_id=post_id, account_id=account, comments=found.comments),
    )


class Replied(View):
    post_id: str
    account_id: str
    comment_id: str | None
    reply_id: str | None


@tool(
    Domain.COMMENTS, "create", touches={"post": "post_id", "comment": "comment_id", "account": "account_id"}
)
async def comments_reply(
    post_id: PostRef,
    comment_id: CommentId,
    text: Annotated[str, Field(description="The reply, within the platform's limit.", max_length=10_000)],
    ctx: Context,
    account_id: AccountRef = None,
    idempotency_key: IdempotencyKey = None,
) -> CallToolResult:
    """Reply publicly to a comment as the post's account (twitter 280 characters, bluesky 300,
    threads 500, linkedin 1250, instagram 2200). Check the text with the person first."""
    client = app(ctx).client
    if not visible(text):
        invisible = " (no visible characters)" if text.strip() else ""
        raise ToolInputError(f"text is empty{invisible}; write the reply.")
    account = account_id or await _account_of(client, post_id)
    known = (await load_account_names(client)).by_id.get(account)
    if known is None:
        raise ToolInputError(f"Account {account} is not connected; accounts_list shows the connected ones.")
    limit = REPLY_MAX.get(known.platform)
    if limit is None:
        raise ToolInputError(f"{known.platform} comments cannot be answered through Late's inbox.")
    if len(text) > limit:
        raise ToolInputError(
            f"Nothing was sent: the reply has {len(text)} characters and {known.platform} allows {limit}. "
            "Shorten it and call again."
        )
    reply = await needing_addon(client.reply_to_comment(post_id, account, comment_id, text), ADDON, NEEDS)
    return ok(
        ctx,
        f"Replied on {known.label()} to comment {comment_id} (reply {reply.comment_id}).",
        Replied(post_id=post_id, account_id=account, comment_id=comment_id, reply_id=reply.comment_id),
    )


class HiddenResult(View):
    post_id: str
    comment_id: str
    hidden: bool


@tool(
    Domain.COMMENTS, "update", touches={"post": "post_id", "comment": "comment_id", "account": "account_id"}
)
async def comments_hide(
    post_id: PostRef,
    comment_id: CommentId,
    ctx: Context,
    account_id: AccountRef = None,
    idempotency_key: IdempotencyKey = None,
) -> CallToolResult:
    """Hide a comment from everyone but its author (facebook, instagram, threads only)."""
    client = app(ctx).client
    account = account_id or await _account_of(client, post_id)
    known = (await load_account_names(client)).by_id.get(account)
    if known is not None and known.platform not in HIDE_PLATFORMS:
        raise ToolInputError(
            f"Nothing was changed: {known.platform} does not let comments be hidden (only "
            f"{', '.join(HIDE_PLATFORMS)}). Reply instead, or remove it on {known.platform} itself."
        )
    result = await needing_addon(client.hide_comment(post_id, comment_id, account), ADDON, NEEDS)
    return ok(
        ctx,
        f"Hid comment {comment_id} on post {post_id}.",
        HiddenResult(post_id=post_id, comment_id=comment_id, hidden=result.hidden is not False),
    )
