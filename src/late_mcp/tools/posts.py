"""Posts after creation: list, read back, edit, retry, delete (creating is in publishing.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, get_args

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.core.outside import quoted, word
from late_mcp.core.toolsets import Domain
from late_mcp.late.errors import NotFoundError
from late_mcp.late.insights import PostLogEntry
from late_mcp.late.models import Post, parse_timestamp
from late_mcp.rules import MediaKind, check_target
from late_mcp.safety.confirm import Confirm, confirm_step
from late_mcp.safety.idempotency import IdempotencyKey
from late_mcp.tools._approval import PENDING
from late_mcp.tools._common import (
    ID_PATTERN,
    AppContext,
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
    Zone,
    edit_zone,
    local_text,
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


class DateRange(View):
    """The from/to of a listing as instants, and the zone dates and times without offset were read in."""

    start: str | None = None
    end: str | None = None
    zone: str
    zone_source: str


class DatedPostList(PostListResult):
    dates: DateRange | None = None


Bound = Annotated[str | None, Field(description="Date or time.", max_length=40)]


@tool(Domain.POSTS, "read", touches={"profile": "profile_id"})
async def posts_list(
    ctx: Context,
    status: Annotated[
        Literal["draft", "pending_approval", "scheduled", "published", "failed"] | None,
        Field(description="Only this status."),
    ] = None,
    profile_id: OptionalProfileId = None,
    platform: PlatformFilter = None,
    start: Annotated[Bound, Field(alias="from")] = None,
    end: Annotated[Bound, Field(alias="to")] = None,
    timezone: Annotated[str | None, Field(description="IANA zone.", max_length=64)] = None,
    page: Annotated[int, Field(ge=1, le=10_000)] = 1,
    limit: Annotated[int, Field(ge=1, le=100)] = 10,
) -> CallToolResult:
    """Posts, newest first: text preview, status per account."""
    context = app(ctx)
    client = context.client
    query: dict[str, str | int | None] = {
        "status": status,
        "profileId": profile_id,
        "platform": platform,
        "page": page,
        "limit": limit,
    }
    span = None
    if start is not None or end is not None:
        zone = await _list_zone(context, timezone, profile_id)
        span = _span(start, end, zone)
        # Late takes whole days in a zone of its own: ask a day wider, keep exactly the span here.
        if span.start is not None:
            query["dateFrom"] = (span.start - timedelta(days=1)).astimezone(UTC).date().isoformat()
        if span.end is not None:
            query["dateTo"] = (span.end + timedelta(days=1)).astimezone(UTC).date().isoformat()
    result, directory = await both(
        lambda: client.list_posts(query), lambda: load_account_names(client, profile_id)
    )
    # Awaiting approval is checked here too: a Late that ignores that status must not list other
    # posts as waiting for the client.
    pending = status == PENDING
    posts = [
        post
        for post in result.posts
        if (profile_id is None or _only_of(post, directory.by_id))
        and (span is None or span.holds(post))
        and (not pending or post.status == PENDING)
    ]
    p = result.pagination if len(posts) == len(result.posts) else None
    if p is not None:
        where = f"(page {p.page} of {max(p.pages, 1)}, {p.total} in all)"
    elif result.pagination is None:
        where = (
            f"on page {page} (page count and total left out: they would count posts outside this "
            "access token's profiles; profile_id narrows the list to one)"
        )
    else:
        outside = " or ".join(
            (["the dates"] if span else [])
            + (["this profile"] if profile_id else [])
            + ([f"status {PENDING}"] if pending else [])
        )
        more = f"; page={page + 1} may hold more" if result.pagination.pages > page else ""
        where = (
            f"on page {page} (Late's page count and total left out: they counted posts outside "
            f"{outside}{more})"
        )
    dated = f" {span.text()}" if span else ""
    return ok(
        ctx,
        f"{plural(len(posts), 'post')}{dated} {where}.",
        DatedPostList(
            posts=[view(post, directory, preview=120) for post in posts],
            pagination=p,
            dates=span.view() if span else None,
        ),
    )


def _only_of(post: Post, accounts: dict[str, Any]) -> bool:
    """Whether every account the post goes to is one of the profile's (Late may ignore profileId)."""
    return bool(post.platforms) and all(t.account_id in accounts for t in post.platforms)


async def _list_zone(context: AppContext, timezone: str | None, profile_id: str | None) -> Zone:
    """The zone from/to are read in: the call's, else LATE_TIMEZONE, else the profile's queue zone,
    else UTC."""
    if timezone:
        zone_named(timezone)
        return Zone(timezone, "timezone argument")
    if context.settings.timezone:
        return Zone(context.settings.timezone, "LATE_TIMEZONE")
    if profile_id is not None:
        try:
            queue = await context.client.queue_slots(profile_id)
        except NotFoundError:
            queue = None
        named = queue.schedule.timezone if queue and queue.schedule else None
        if named:
            try:
                zone_named(named)
            except ToolInputError:
                named = None
        if named:
            return Zone(named, "the profile's queue zone")
    return Zone("UTC", "default (UTC)")


@dataclass(frozen=True)
class Span:
    """From `start` (inclusive) to `end` (inclusive); either may be open."""

    start: datetime | None
    end: datetime | None
    zone: Zone

    def holds(self, post: Post) -> bool:
        """Whether the post's time (scheduled, else published, else created) is in the span."""
        moment = parse_timestamp(post.scheduled_for or post.published_at or post.created_at)
        if moment is None:
            return False
        return (self.start is None or moment >= self.start) and (self.end is None or moment <= self.end)

    def text(self) -> str:
        parts = []
        if self.start is not None:
            parts.append(f"from {local_text(self.start, self.zone.name)}")
        if self.end is not None:
            parts.append(f"to {local_text(self.end, self.zone.name)}")
        return f"{' '.join(parts)} ({self.zone.source})"

    def view(self) -> DateRange:
        def utc(moment: datetime | None) -> str | None:
            return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None

        return DateRange(
            start=utc(self.start), end=utc(self.end), zone=self.zone.name, zone_source=self.zone.source
        )


def _span(start: str | None, end: str | None, zone: Zone) -> Span:
    span = Span(_bound("from", start, zone, end=False), _bound("to", end, zone, end=True), zone)
    if span.start is not None and span.end is not None and span.start > span.end:
        raise ToolInputError(
            f"from ({local_text(span.start, zone.name)}) is after to ({local_text(span.end, zone.name)}); "
            "give from before to."
        )
    return span


def _bound(name: str, value: str | None, zone: Zone, *, end: bool) -> datetime | None:
    """A from/to value as an instant: a date is the start (from) or the end (to) of that day in
    `zone`; a date-time without offset is read in `zone`."""
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(), zone.info)
            return moment + timedelta(days=1, microseconds=-1) if end else moment
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ToolInputError(
            f"{name} {value!r} is not a date or date-time; use e.g. '2026-12-01' or '2026-12-01T09:00' "
            f"(read in {zone.name}, {zone.source}) or one with an offset."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone.info)


@tool(Domain.POSTS, "read", touches={"post": "post_id"})
async def posts_get(post_id: PostId, ctx: Context) -> CallToolResult:
    """One post: status, URL and error per account."""
    client = app(ctx).client
    post = await client.get_post(post_id)
    shown = view(post, await load_account_names(client))
    summary = f"Post {word(post.id)}: {word(post.status)}, to {accounts_text(shown)}."
    if post.status in {"failed", "partial"}:
        summary += f" posts_logs(post_id={word(post.id)}) shows Late's publishing log (why it failed)."
    elif post.status == PENDING:
        summary += f" It never publishes until posts_review(post_id={word(post.id)}) approves it."
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
    """Why a post failed: Late's log per attempt and platform."""
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
    """Edit an unpublished post; only given fields change; text is checked."""
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


@tool(Domain.POSTS, "delete", touches={"post": "post_id"}, app="preview")
async def posts_delete(
    post_id: PostId, ctx: Context, confirm: Confirm = None, idempotency_key: IdempotencyKey = None
) -> CallToolResult:
    """Delete an unpublished post. Previews, returns confirm_token."""
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
    """Retry a failed post where it failed (fix text with posts_update first)."""
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
