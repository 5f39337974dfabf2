"""Posts: create (publish, draft, queue or schedule), list, read back, edit, retry, delete."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from late_mcp.late.models import Pagination, Post
from late_mcp.platforms import MediaType, Platform
from late_mcp.tools._common import ID_PATTERN, OptionalProfileId, ToolInputError, app, ok, plural, tool
from late_mcp.tools._once import create_post_once
from late_mcp.tools._posting import choose_mode, media_items, parse_schedule, resolve_accounts, zone

PostId = Annotated[str, Field(description="Post id (from posts_list or posts_create).", pattern=ID_PATTERN)]
Timezone = Annotated[str, Field(description="IANA zone for a scheduled_for without offset.", max_length=64)]
ScheduledFor = Annotated[
    str | None,
    Field(
        description="ISO 8601 time, e.g. 2026-12-01T09:00 (local to timezone) or with offset.", max_length=40
    ),
]
Title = Annotated[str | None, Field(description="Title (YouTube, Pinterest, Reddit).", max_length=300)]


class TargetView(BaseModel):
    platform: str
    account_id: str | None = None
    username: str | None = None
    status: str | None = None
    url: str | None = None
    error: str | None = None


class PostView(BaseModel):
    id: str
    status: str | None = None
    title: str | None = None
    content: str | None = None
    scheduled_for: str | None = None
    timezone: str | None = None
    media: list[str] | None = None
    targets: list[TargetView]


class PostResult(BaseModel):
    post: PostView
    note: str | None = None


class PostListResult(BaseModel):
    posts: list[PostView]
    pagination: Pagination


class Deleted(BaseModel):
    deleted: str


def view(post: Post, *, preview: int | None = None) -> PostView:
    content = post.content
    if preview is not None and content and len(content) > preview:
        content = content[: preview - 1] + "…"
    return PostView(
        id=post.id,
        status=post.status,
        title=post.title,
        content=content,
        scheduled_for=post.scheduled_for,
        timezone=post.timezone,
        media=[m.url for m in post.media_items] or None,
        targets=[
            TargetView(
                platform=t.platform,
                account_id=t.account_id,
                username=t.account.username if t.account else None,
                status=t.status,
                url=t.platform_post_url,
                error=t.error_message,
            )
            for t in post.platforms
        ],
    )


@tool("posts", "Create a post", "create")
async def posts_create(
    content: Annotated[str, Field(description="Text of the post.", max_length=100_000)],
    accounts: Annotated[
        list[Annotated[str, Field(max_length=64)]],
        Field(
            description="Account ids, or platform names (e.g. 'twitter') that match exactly one account.",
            min_length=1,
            max_length=50,
        ),
    ],
    ctx: Context,
    profile_id: OptionalProfileId = None,
    publish_now: Annotated[bool, Field(description="Publish immediately.")] = False,
    is_draft: Annotated[bool, Field(description="Save as draft.")] = False,
    use_queue: Annotated[bool, Field(description="Next free slot of the profile's queue.")] = False,
    scheduled_for: ScheduledFor = None,
    timezone: Timezone = "UTC",
    media_urls: Annotated[
        list[Annotated[str, Field(max_length=2000)]] | None,
        Field(description="Public media URLs (from media_upload_file or the web).", max_length=20),
    ] = None,
    media_type: Annotated[
        MediaType | None, Field(description="Type for media URLs whose name has no known extension.")
    ] = None,
    title: Title = None,
    allow_duplicate: Annotated[
        bool, Field(description="Post even if the same post was just created.")
    ] = False,
) -> CallToolResult:
    """Create a post on one or more connected accounts. Exactly one of publish_now, is_draft,
    use_queue or scheduled_for. Returns the post id and per-account status; check later with
    posts_get."""
    mode = choose_mode(publish_now, is_draft, use_queue, scheduled_for)
    if not content.strip() and not media_urls:
        raise ToolInputError("content is empty and no media_urls were given: a post needs text or media.")
    body: dict[str, Any] = {"content": content, "timezone": timezone}
    zone(timezone)
    if mode == "scheduled_for":
        assert scheduled_for is not None
        body["scheduledFor"] = parse_schedule(scheduled_for, timezone).isoformat()
    if media_urls:
        body["mediaItems"] = media_items(media_urls, media_type)
    if title:
        body["title"] = title

    context = app(ctx)
    client = context.client
    targets = resolve_accounts(accounts, await client.list_accounts(profile_id), profile_id)
    body["platforms"] = [{"platform": a.platform, "accountId": a.id} for a in targets]
    if mode == "publish_now":
        body["publishNow"] = True
    elif mode == "is_draft":
        body["isDraft"] = True
    elif mode == "use_queue":
        queue_profiles = {profile_id} if profile_id else {a.profile_id for a in targets}
        if len(queue_profiles) != 1 or None in queue_profiles:
            raise ToolInputError(
                "use_queue needs one profile: pass profile_id (the accounts belong to different profiles)."
            )
        body["queuedFromProfile"] = queue_profiles.pop()

    post, once = await create_post_once(context, body, targets, mode, allow_duplicate=allow_duplicate)
    if once == "duplicate":
        note = (
            f"Not sent again: the same post already exists (post {post.id}, status {post.status}). "
            "Pass allow_duplicate=true only if the user wants it posted twice."
        )
        return ok(ctx, note, PostResult(post=view(post), note="duplicate"))
    recovered = once == "recovered"
    names = ", ".join(a.label() for a in targets)
    when = {
        "publish_now": "Published",
        "is_draft": "Saved draft",
        "use_queue": f"Queued for {post.scheduled_for}",
        "scheduled_for": f"Scheduled for {post.scheduled_for}",
    }[mode]
    if recovered:
        return ok(
            ctx,
            f"{when} to {names} (post {post.id}, status {post.status}); the first answer was lost and "
            "the post was found, so nothing was sent twice.",
            PostResult(post=view(post), note="recovered"),
        )
    return ok(ctx, f"{when} to {names} (post {post.id}, status {post.status}).", PostResult(post=view(post)))


@tool("posts", "List posts", "read")
async def posts_list(
    ctx: Context,
    status: Annotated[
        Literal["draft", "scheduled", "published", "failed"] | None,
        Field(description="Only posts with this status."),
    ] = None,
    profile_id: OptionalProfileId = None,
    platform: Annotated[Platform | None, Field(description="Only posts to this platform.")] = None,
    page: Annotated[int, Field(ge=1, le=10_000)] = 1,
    limit: Annotated[int, Field(ge=1, le=100)] = 10,
) -> CallToolResult:
    """List posts, newest first, with a content preview and per-account status. Use posts_get for
    the full text, public URLs and error details."""
    result = await app(ctx).client.list_posts(
        {"status": status, "profileId": profile_id, "platform": platform, "page": page, "limit": limit}
    )
    p = result.pagination
    return ok(
        ctx,
        f"{plural(len(result.posts), 'post')} (page {p.page} of {max(p.pages, 1)}, {p.total} in all).",
        PostListResult(posts=[view(post, preview=120) for post in result.posts], pagination=p),
    )


@tool("posts", "Get a post", "read")
async def posts_get(post_id: PostId, ctx: Context) -> CallToolResult:
    """Get one post: status per account, public URLs once published, and error messages of
    failed platforms (fix and posts_retry)."""
    post = await app(ctx).client.get_post(post_id)
    return ok(ctx, f"Post {post.id}: {post.status}.", PostResult(post=view(post)))


@tool("posts", "Edit a post", "update")
async def posts_update(
    post_id: PostId,
    ctx: Context,
    content: Annotated[str | None, Field(description="New text.", max_length=100_000)] = None,
    scheduled_for: ScheduledFor = None,
    timezone: Annotated[
        str | None, Field(description="IANA zone; defaults to the post's.", max_length=64)
    ] = None,
    title: Title = None,
) -> CallToolResult:
    """Edit a draft, scheduled, failed or partial post (published posts cannot change). Only the
    given fields change."""
    client = app(ctx).client
    body: dict[str, Any] = {}
    if content is not None:
        body["content"] = content
    if title is not None:
        body["title"] = title
    if timezone is not None:
        zone(timezone)
        body["timezone"] = timezone
    if scheduled_for is not None:
        tz = timezone or (await client.get_post(post_id)).timezone or "UTC"
        body["scheduledFor"] = parse_schedule(scheduled_for, tz).isoformat()
    if not body:
        raise ToolInputError(
            "Nothing to update: give at least one of content, scheduled_for, timezone, title."
        )
    post = await client.update_post(post_id, body)
    return ok(ctx, f"Updated post {post.id} ({post.status}).", PostResult(post=view(post)))


@tool("posts", "Delete a post", "delete")
async def posts_delete(post_id: PostId, ctx: Context) -> CallToolResult:
    """Delete a draft, scheduled or failed post so it never publishes. Published posts cannot be
    deleted through Late."""
    await app(ctx).client.delete_post(post_id)
    return ok(ctx, f"Deleted post {post_id}.", Deleted(deleted=post_id))


@tool("posts", "Retry a failed post", "create")
async def posts_retry(post_id: PostId, ctx: Context) -> CallToolResult:
    """Publish a failed or partial post again on the platforms that failed. Check the error with
    posts_get first; a post that failed for content reasons needs posts_update before."""
    post = await app(ctx).client.retry_post(post_id)
    return ok(ctx, f"Retried post {post.id}: {post.status}.", PostResult(post=view(post)))


TOOLS = (posts_create, posts_list, posts_get, posts_update, posts_delete, posts_retry)
