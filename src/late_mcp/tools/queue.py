"""A profile's posting queue (weekly slots) and its next free times."""

from __future__ import annotations

from typing import Annotated, NoReturn

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.core.toolsets import Domain
from late_mcp.late.client import LateClient
from late_mcp.late.errors import LateAPIError
from late_mcp.late.models import QueuePreview, QueueState, parse_timestamp
from late_mcp.safety.confirm import Confirm, confirm_step
from late_mcp.safety.idempotency import IdempotencyKey
from late_mcp.tools._common import ProfileId, ToolInputError, app, ok, plural, tool
from late_mcp.tools._together import both
from late_mcp.tools._views import View
from late_mcp.tools._when import local_text, zone_named

TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"  # checked here, not published (server/schema.py)
DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")  # Late counts 0 = Sunday
NO_QUEUE_HINT = "This profile has no queue yet: set its weekly slots with queue_slots_set first."


class Slot(View):
    day_of_week: int = Field(ge=0, le=6, description="0=Sunday ... 6=Saturday.")
    time: str = Field(pattern=TIME_PATTERN, description="HH:MM.")


class QueueView(View):
    profile_id: str
    exists: bool
    timezone: str | None = None
    slots: list[Slot] = Field(default_factory=list)
    next: list[str] | None = None


class QueueSetPreview(View):
    profile_id: str
    timezone: str
    drops: list[str]
    keeps: list[str]
    adds: list[str]
    effect: str


def _label(day: int, time: str) -> str:
    return f"{DAYS[day]} {time}"


def _local(stamps: list[str], zone: str | None) -> list[str]:
    moments = [m for m in (parse_timestamp(s) for s in stamps) if m is not None]
    return [local_text(m, zone or "UTC") for m in moments]


def raise_with_queue_hint(exc: LateAPIError) -> NoReturn:
    """Raise `exc` again; Late's 'no queue' refusal as a new error with the fix instead of the
    generic 'check the id'."""
    if "queue" in (exc.api_message or exc.message).lower():
        raise exc.with_context(hint=NO_QUEUE_HINT) from exc
    raise exc


def view(profile_id: str, state: QueueState) -> QueueView:
    s = state.schedule
    if s is None:
        return QueueView(profile_id=profile_id, exists=False)
    slots = [Slot(day_of_week=d.day_of_week, time=d.time) for d in s.slots]
    return QueueView(
        profile_id=profile_id,
        exists=True,
        timezone=s.timezone,
        slots=slots,
        next=_local(state.next_slots, s.timezone),
    )


@tool(Domain.QUEUE, "read", touches={"profile": "profile_id"})
async def queue_slots_get(profile_id: ProfileId, ctx: Context) -> CallToolResult:
    """A profile's weekly queue slots, zone and next free times (none yet: queue_slots_set)."""
    shown = view(profile_id, await app(ctx).client.queue_slots(profile_id))
    if not shown.exists:
        return ok(ctx, f"Profile {profile_id} has no queue yet; queue_slots_set creates it.", shown)
    times = ", ".join(_label(s.day_of_week, s.time) for s in shown.slots)
    return ok(ctx, f"Queue ({shown.timezone}): {times}.", shown)


@tool(Domain.QUEUE, "update", touches={"profile": "profile_id"})
async def queue_slots_set(
    profile_id: ProfileId,
    timezone: Annotated[str, Field(description="IANA zone of the times.", max_length=64)],
    slots: Annotated[list[Slot], Field(description="Weekly posting times.", min_length=1, max_length=100)],
    ctx: Context,
    confirm: Confirm = None,
    idempotency_key: IdempotencyKey = None,
) -> CallToolResult:
    """Replace a profile's weekly queue (use_queue fills it). Dropping slots previews, returns
    confirm_token."""
    context = app(ctx)
    zone_named(timezone)
    wanted = sorted({(s.day_of_week, s.time) for s in slots})
    current = await context.client.queue_slots(profile_id)
    old = current.schedule
    before = sorted({(d.day_of_week, d.time) for d in old.slots}) if old else []
    moved = old is not None and old.timezone != timezone
    dropped = before if moved else [s for s in before if s not in wanted]
    if dropped:
        preview = QueueSetPreview(
            profile_id=profile_id,
            timezone=timezone,
            drops=[_label(*s) + (f" {old.timezone}" if moved and old else "") for s in dropped],
            keeps=[_label(*s) for s in wanted if s in before and not moved],
            adds=[_label(*s) for s in wanted if s not in before or moved],
            effect="Replaces the queue; posts already scheduled keep their times.",
        )
        what = f"replace the queue of profile {profile_id}, dropping {plural(len(dropped), 'slot')}"
        stop = await confirm_step(
            ctx, context.confirm_tokens, context.settings.confirm, "queue_slots_set", confirm, preview, what
        )
        if stop is not None:
            return stop
    body = [{"dayOfWeek": d, "time": t} for d, t in wanted]
    shown = view(profile_id, await context.client.set_queue_slots(profile_id, timezone, body))
    first = f" Next: {shown.next[0]}." if shown.next else ""
    return ok(ctx, f"Queue set: {plural(len(wanted), 'slot')} a week ({timezone}).{first}", shown)


class PreviewResult(View):
    profile_id: str
    timezone: str | None
    slots: list[str]
    utc: list[str]


@tool(Domain.QUEUE, "read", touches={"profile": "profile_id"})
async def queue_preview(
    profile_id: ProfileId,
    ctx: Context,
    count: Annotated[int, Field(ge=1, le=50, description="How many.")] = 5,
) -> CallToolResult:
    """Next free queue times in the profile's zone; use_queue takes the first."""
    client = app(ctx).client
    try:
        if count == 1:  # Late's next-slot answer carries the zone: one request
            slot = await client.next_queue_slot(profile_id)
            stamps, zone = [slot.next_slot], slot.timezone
        else:
            state, upcoming = await both(
                lambda: client.queue_slots(profile_id), lambda: _preview_or_error(client, profile_id, count)
            )
            if state.schedule is None:
                raise ToolInputError(f"Profile {profile_id} has no queue. {NO_QUEUE_HINT}")
            if isinstance(upcoming, LateAPIError):
                raise upcoming
            stamps, zone = upcoming.slots, state.schedule.timezone
    except LateAPIError as exc:
        raise_with_queue_hint(exc)
    times = _local(stamps, zone)
    result = PreviewResult(profile_id=profile_id, timezone=zone, slots=times, utc=stamps)
    return ok(ctx, f"{plural(len(times), 'free slot')}: {'; '.join(times[:3])}.", result)


async def _preview_or_error(client: LateClient, profile_id: str, count: int) -> QueuePreview | LateAPIError:
    """The preview, or Late's refusal of it: without a queue the profile's state says why better."""
    try:
        return await client.queue_preview(profile_id, count)
    except LateAPIError as exc:
        return exc
