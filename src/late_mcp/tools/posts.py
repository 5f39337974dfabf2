"""Posts after creation: list, read back, edit, retry, delete (creating is in publishing.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.core.outside import quoted, word
from late_mcp.core.toolsets import Domain
from late_mcp.late.insights import PostLogEntry
from late_mcp.late.models import Post, parse_timestamp
from late_mcp.rules import MediaKind, check_target
from late_mcp.safety.confirm import Confirm, confirm_step
from late_mcp.safety.idempotency import IdempotencyKey
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
from late_mcp.tools._post_views import Deleted, PostListResult, PostView, accounts_text, view
from late_mcp.tools._targets import load_account_names
from late_mcp.tools._together import both
from late_mcp.tools._views import View
from late_mcp.tools._when import (
    WhenView,
    edit_zone,
    parse_schedule,
    when_text,
    when_view,
    zone_named,
)

PostId = Annotated[str, Field(description="A post id.", pattern=ID_PATTERN)]
ScheduledFor = Annotated[
    str | None,
    Field(description="ISO 8601. Zone matters: offset, else timezone, else the post's.", max_length=40),
]
Title = Annotated[str | None, Field(description="Title (YouTube, Pinterest, Reddit).", max_length=300)]


class PostResult(View):
    post: PostView
    when: WhenView | None = None


class DeletePreview(View):
    post: PostView
    effect: str


@tool(Domain.POSTS, "read", touches={"profile": "profile_id"})
async def posts_list(
    ctx: Context,
    status: Annotated[
        Literal["draft", "scheduled", "published", "failed"] | None,
        Field(description="Only this status."),
    ] = None,
    profile_id: OptionalProfileId = None,
    platform: PlatformFilter = None,
    page: Annotated[int, Field(ge=1, le=10_000)] = 1,
    limit: Annotated[int, Field(ge=1, le=100)] = 10,
) -> CallToolResult:
    """Posts, newest first, with text preview and status per account; posts_get has the rest."""
    client = app(ctx).client
    query = {"status": status, "profileId": profile_id, "platform": platform, "page": page, "limit": limit}
    result, directory = await both(
        lambda: client.list_posts(query), lambda: load_account_names(client, profile_id)
    )
    p = result.pagination
    where = (
        f"(page {p.page} of {max(p.pages, 1)}, {p.total} in all)"
        if p is not None
        else f"on page {page} (page count and total left out: they would count posts outside this "
        "access token's profiles; profile_id narrows the list to one)"
    )
    return ok(
        ctx,
        f"{plural(len(result.posts), 'post')} {where}.",
        PostListResult(posts=[view(post, directory, preview=120) for post in result.posts], pagination=p),
    )


@tool(Domain.POSTS, "read", touches={"post": "post_id"})
async def posts_get(post_id: PostId, ctx: Context) -> CallToolResult:
    """One post: status per account, public URLs, errors of failed platforms."""
    client = app(ctx).client
    post = await client.get_post(post_id)
    shown = view(post, await load_account_names(client))
    summary = f"Post {word(post.id)}: {word(post.status)}, to {accounts_text(shown)}."
    if post.status in {"failed", "partial"}:
        summary += f" posts_logs(post_id={word(post.id)}) shows Late's publishing log (why it failed)."
    return ok(ctx, summary, PostResult(post=shown))


class LogResult(View):
    post_id: str
    logs: list[PostLogEntry]


@tool(Domain.POSTS, "read", touches={"post": "post_id"})
async def posts_logs(
    post_id: PostId,
    ctx: Context,
    limit: Annotated[int, Field(ge=1, le=100)] = 20,
) -> CallToolResult:
    """Why a post failed: Late's log of each attempt per platform, status and error."""
    logs = (await app(ctx).client.post_logs(post_id, limit)).logs
    failed = [entry for entry in logs if entry.status == "failed"]
    summary = f"{len(logs)} log entr{'y' if len(logs) == 1 else 'ies'} for post {post_id}"
    if failed:
        last = failed[0]
        said = quoted(last.error_message, 300) if last.error_message else "no message"
        summary += f"; latest failure on {word(last.platform)}: {said}"
    return ok(ctx, summary + ".", LogResult(post_id=post_id, logs=logs))


@tool(Domain.POSTS, "update", touches={"post": "post_id"})
async def posts_update(
    post_id: PostId,
    ctx: Context,
    content: Annotated[str | None, Field(description="New text.", max_length=100_000)] = None,
    scheduled_for: ScheduledFor = None,
    timezone: Annotated[
        str | None, Field(description="IANA zone; default the post's.", max_length=64)
    ] = None,
    title: Title = None,
    idempotency_key: IdempotencyKey = None,
) -> CallToolResult:
    """Edit an unpublished post; given fields change; new text is checked against rules."""
    context = app(ctx)
    client = context.client
    body: dict[str, Any] = {}
    if content is not None:
        body["content"] = content
    if title is not None:
        body["title"] = title
    if timezone is not None:
        zone_named(timezone)
        body["timezone"] = timezone
    if not body and scheduled_for is None:
        raise ToolInputError(
            "Nothing to update: give at least one of content, scheduled_for, timezone, title."
        )
    current = await client.get_post(post_id)
    zone = edit_zone(timezone, scheduled_for, current.timezone, context.settings)
    if scheduled_for is not None:
        body["scheduledFor"] = parse_schedule(scheduled_for, zone).isoformat()
    if (content is not None or title is not None) and current.status != "draft":
        problems = edit_problems(current, content, title)
        if problems:
            raise ToolInputError(
                f"Nothing was changed: the edit breaks {plural(len(problems), 'platform rule')}. "
                + " ".join(problems)
            )
    post = await client.update_post(post_id, body)
    shown = view(post, await load_account_names(client))
    moment = parse_timestamp(post.scheduled_for)
    when = when_view(moment, zone) if moment else None
    at = f", for {when_text(when)}" if when else ""
    return ok(
        ctx,
        f"Updated post {word(post.id)} ({word(post.status)}{at}) to {accounts_text(shown)}.",
        PostResult(post=shown, when=when),
    )


@tool(Domain.POSTS, "delete", touches={"post": "post_id"})
async def posts_delete(
    post_id: PostId, ctx: Context, confirm: Confirm = None, idempotency_key: IdempotencyKey = None
) -> CallToolResult:
    """Delete an unpublished post so it never publishes. Previews, returns confirm_token."""
    context = app(ctx)
    client = context.client
    post = await client.get_post(post_id)
    shown = view(post, await load_account_names(client), preview=200)
    if post.status == "published":
        raise ToolInputError(
            f"Post {post_id} is published, and published posts cannot be deleted through Late. "
            "Remove it on the platform itself."
        )
    status = word(post.status)
    preview = DeletePreview(post=shown, effect=f"Deletes this {status} post; it will never publish.")
    what = f"delete {status} post {post_id} to {accounts_text(shown)}"
    stop = await confirm_step(
        ctx, context.confirm_tokens, context.settings.confirm, "posts_delete", confirm, preview, what
    )
    if stop is not None:
        return stop
    await client.delete_post(post_id)
    return ok(
        ctx,
        f"Deleted post {post_id} (was {status}, to {accounts_text(shown)}).",
        Deleted(deleted=post_id),
    )


@tool(Domain.POSTS, "create", touches={"post": "post_id"})
async def posts_retry(
    post_id: PostId, ctx: Context, idempotency_key: IdempotencyKey = None
) -> CallToolResult:
    """Publish a failed or partial post again where it failed (content fixes: posts_update
    first)."""
    client = app(ctx).client
    post = await client.retry_post(post_id)
    shown = view(post, await load_account_names(client))
    return ok(
        ctx,
        f"Retried post {word(post.id)}: {word(post.status)}, to {accounts_text(shown)}.",
        PostResult(post=shown),
    )


# What an edit of text or title can break; media and options are not edited here.
EDIT_RULES = ("text_max", "caption_max", "empty", "title_max")


def edit_problems(post: Post, content: str | None, title: str | None) -> list[str]:
    """Text, caption and title rules each target breaks once `content`/`title` replace the post's."""
    kinds: list[MediaKind] = [m.type for m in post.media_items if m.type in get_args(MediaKind)]  # type: ignore[misc]
    found = []
    for target in post.platforms:
        text = target.custom_content or (content if content is not None else post.content or "")
        for problem in check_target(
            target.platform,
            text=text,
            media=kinds,
            title=title if title is not None else post.title,
            options=None,
        ):
            if problem.rule.endswith(EDIT_RULES):
                found.append(f"{word(target.platform)}: {problem.message} Fix: {problem.fix}")
    return found
