"""posts_calendar: one client's posts for a week or a month, day by day in the client's zone, with
the queue's free slots between them. Hosts that render MCP Apps draw it (apps/calendar.html);
the others get the same days as a compact agenda in the text."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.core.outside import quoted, word
from late_mcp.core.toolsets import Domain
from late_mcp.late.client import LateClient
from late_mcp.late.errors import LateAPIError, NotFoundError
from late_mcp.late.models import Post, QueueState, parse_timestamp
from late_mcp.tools._common import AppContext, ProfileId, app, ok, plural, tool
from late_mcp.tools._post_views import TargetView, view
from late_mcp.tools._targets import load_account_names
from late_mcp.tools._together import both
from late_mcp.tools._views import View
from late_mcp.tools._when import CLIENT_QUEUE, LATE_TIMEZONE, Zone, zone_info

MAX_PAGES = 5  # of 100 posts: a month of a busy client
FREE_SLOTS = 50  # queue slots asked for (Late's preview counts from now)


class CalendarPost(View):
    id: str
    time: str  # HH:MM in the calendar's zone
    at: str  # the instant, with the zone's offset
    status: str | None = None
    title: str | None = None
    text: str | None = None
    media: int | None = None
    targets: list[TargetView]


class CalendarDay(View):
    date: str
    weekday: str
    posts: list[CalendarPost]
    free: list[str]  # the queue's free slots that day, HH:MM


class CalendarView(View):
    profile_id: str
    timezone: str
    zone_source: str
    start: str
    end: str
    days: list[CalendarDay]
    complete: bool  # False: more posts than were read (MAX_PAGES pages)


@tool(Domain.POSTS, "read", touches={"profile": "profile_id"}, app="calendar")
async def posts_calendar(
    profile_id: ProfileId,
    ctx: Context,
    start: Annotated[date | None, Field(description="First day (default today).")] = None,
    days: Annotated[int, Field(ge=1, le=31, description="7 = a week, 31 = a month.")] = 7,
) -> CallToolResult:
    """One client's posts per day in its zone, with free queue slots."""
    context = app(ctx)
    client = context.client
    queue = await _queue(client, profile_id)
    zone = _zone(context, queue)
    first = start or datetime.now(UTC).astimezone(zone.info).date()
    last = first + timedelta(days=days - 1)
    opens = datetime.combine(first, time(), zone.info)
    closes = datetime.combine(last + timedelta(days=1), time(), zone.info)
    (posts, complete), free = await both(
        lambda: _posts(client, profile_id, first, last), lambda: _free(client, profile_id, queue, closes)
    )
    directory = await load_account_names(client, profile_id)
    placed: dict[date, list[CalendarPost]] = defaultdict(list)
    for post in posts:
        moment = parse_timestamp(post.scheduled_for or post.published_at or post.created_at)
        if moment is None or not opens <= moment < closes:
            continue
        if not post.platforms or any(t.account_id not in directory.by_id for t in post.platforms):
            continue  # Late may answer for other profiles: only this client's posts
        local = moment.astimezone(zone.info)
        shown = view(post, directory, preview=200)
        placed[local.date()].append(
            CalendarPost(
                id=post.id,
                time=f"{local:%H:%M}",
                at=local.isoformat(timespec="minutes"),
                status=post.status,
                title=post.title,
                text=shown.content,
                media=len(shown.media) if shown.media else None,
                targets=shown.targets,
            )
        )
    gaps: dict[date, list[str]] = defaultdict(list)
    for slot in free:
        local = slot.astimezone(zone.info)
        if opens <= local < closes:
            gaps[local.date()].append(f"{local:%H:%M}")
    calendar = CalendarView(
        profile_id=profile_id,
        timezone=zone.name,
        zone_source=zone.source,
        start=first.isoformat(),
        end=last.isoformat(),
        days=[
            CalendarDay(
                date=day.isoformat(),
                weekday=f"{day:%a}",
                posts=sorted(placed[day], key=lambda p: p.at),
                free=gaps[day],
            )
            for day in (first + timedelta(days=n) for n in range(days))
        ],
        complete=complete,
    )
    count = sum(len(d.posts) for d in calendar.days)
    span = f"{first:%a} {first.day} {first:%b}..{last:%a} {last.day} {last:%b %Y}"
    head = f"{plural(count, 'post')} {span} ({zone.name}, {zone.source})"
    more = "" if complete else f" Only the first {MAX_PAGES * 100} posts were read."
    if client_supports_apps(ctx):
        return ok(ctx, f"{head}; the calendar shows them.{more}", calendar)
    return ok(ctx, f"{head}: {agenda(calendar)}.{more}", calendar)


def agenda(calendar: CalendarView) -> str:
    """`Wed 2 Dec: 09:00 scheduled twitter @acme "Fresh…", 15:00 free | Thu 3 Dec: nothing`: the
    days for a host without Apps (outside text quoted)."""
    lines = []
    for day in calendar.days:
        items: list[tuple[str, str]] = [
            (p.time, f"{p.time} {word(p.status)} {_who(p.targets)} {quoted(p.text, 60)}") for p in day.posts
        ]
        items += [(slot, f"{slot} free") for slot in day.free]
        listed = ", ".join(text for _, text in sorted(items)) or "nothing"
        when = date.fromisoformat(day.date)
        lines.append(f"{when:%a} {when.day} {when:%b}: {listed}")
    return " | ".join(lines)


def _who(targets: list[TargetView]) -> str:
    return ", ".join(
        f"{word(t.platform)} @{word((t.username or '').lstrip('@'))}" if t.username else word(t.platform)
        for t in targets
    )


async def _queue(client: LateClient, profile_id: str) -> QueueState | None:
    try:
        return await client.queue_slots(profile_id)
    except NotFoundError:
        return None


def _zone(context: AppContext, queue: QueueState | None) -> Zone:
    """The client's zone: its queue's, else LATE_TIMEZONE, else UTC."""
    named = queue.schedule.timezone if queue and queue.schedule else None
    if named:
        try:
            zone_info(named)
        except (ValueError, LookupError):
            named = None
        else:
            return Zone(named, CLIENT_QUEUE)
    if context.settings.timezone:
        return Zone(context.settings.timezone, LATE_TIMEZONE)
    return Zone("UTC", "default (UTC)")


async def _posts(client: LateClient, profile_id: str, first: date, last: date) -> tuple[list[Post], bool]:
    """The profile's posts on these days (asked a day wider: Late counts UTC days)."""
    found: list[Post] = []
    query: dict[str, Any] = {
        "profileId": profile_id,
        "dateFrom": (first - timedelta(days=1)).isoformat(),
        "dateTo": (last + timedelta(days=1)).isoformat(),
        "limit": 100,
    }
    for page in range(1, MAX_PAGES + 1):
        result = await client.list_posts({**query, "page": page})
        found += result.posts
        if len(result.posts) < 100 or (result.pagination and page >= result.pagination.pages):
            return found, True
    return found, False


async def _free(
    client: LateClient, profile_id: str, queue: QueueState | None, closes: datetime
) -> list[datetime]:
    """The queue's next free slots (none without a queue, or for a span already past)."""
    if queue is None or queue.schedule is None or closes <= datetime.now(UTC):
        return []
    try:
        upcoming = await client.queue_preview(profile_id, FREE_SLOTS)
    except LateAPIError:
        return []  # the calendar still shows the posts
    return [m for m in (parse_timestamp(s) for s in upcoming.slots) if m is not None]
