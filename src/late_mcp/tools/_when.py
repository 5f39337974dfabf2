"""Time that cannot be misread: which zone a local time means, and how an instant is shown back.

A call's times are read and shown in one zone, taken in this order: the call's `timezone`, the
offset `scheduled_for` carries, the client profile's own zone (its queue's, one GET
/v1/queue/slots per profile, only when nothing before decided), LATE_TIMEZONE, and (stdio only)
the zone of the computer the server runs on. Over HTTP the server's zone says nothing about the
person, so a local time with no zone is refused there; so is one for clients in different zones.
Every result says which zone and where it came from.
A local time the clocks skip (spring forward) or show twice (fall back) is refused too, naming the
valid times, so no instant is ever guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from datetime import timezone as fixed_offset
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from late_mcp.config.settings import Settings
from late_mcp.core.outside import quoted
from late_mcp.late.client import LateClient
from late_mcp.tools._common import ToolInputError
from late_mcp.tools._views import View

ARGUMENT = "timezone argument"
OFFSET = "the offset in scheduled_for"
CLIENT_QUEUE = "the client's queue zone"
THE_POST = "the post's zone"
LATE_TIMEZONE = "LATE_TIMEZONE"
COMPUTER = "this computer's zone"
_FIXED = re.compile(r"UTC([+-])(\d\d):(\d\d)")


@dataclass(frozen=True)
class Zone:
    """An IANA zone and where it came from (said in results, so a wrong guess is visible)."""

    name: str  # an IANA name, or "UTC+01:00" for the fixed offset scheduled_for gave
    source: str  # ARGUMENT, OFFSET, CLIENT_QUEUE, THE_POST, LATE_TIMEZONE, COMPUTER, "default (UTC)"

    @property
    def info(self) -> tzinfo:
        return zone_info(self.name)


def zone_info(name: str) -> tzinfo:
    """The tzinfo of an IANA name or of a fixed `UTC+01:00`."""
    fixed = _FIXED.fullmatch(name)
    if fixed is None:
        return ZoneInfo(name)
    sign, hours, minutes = fixed.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return fixed_offset(-delta if sign == "-" else delta, name)


def offset_zone(scheduled_for: str) -> Zone | None:
    """The fixed zone of the offset `scheduled_for` carries, or None without one."""
    try:
        offset = datetime.fromisoformat(scheduled_for.strip()).utcoffset()
    except ValueError:
        return None
    if offset is None:
        return None
    if not offset:
        return Zone("UTC", OFFSET)
    minutes = int(abs(offset.total_seconds())) // 60
    return Zone(f"UTC{'-' if offset < timedelta(0) else '+'}{minutes // 60:02d}:{minutes % 60:02d}", OFFSET)


class WhenView(View):
    """An instant as the model should repeat it to a person."""

    utc: str
    local: str
    zone: str
    zone_source: str
    from_now: str


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolInputError(
            f"timezone {name!r} is not an IANA time zone name; use one like 'Europe/Amsterdam', "
            "'America/New_York' or 'UTC'."
        ) from None


def machine_zone() -> str | None:
    """The IANA name of this computer's zone, or None when it cannot be told."""
    try:
        from tzlocal import get_localzone_name
    except ImportError:  # pragma: no cover - declared dependency
        return None
    try:
        name: str | None = get_localzone_name()
    except Exception:  # tzlocal raises its own errors on odd set-ups
        return None
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def pick_zone(timezone: str | None, settings: Settings, *, needed: bool) -> Zone:
    """The zone for this call. `needed`: a local time without offset depends on it."""
    if timezone:
        zone_named(timezone)
        return Zone(timezone, ARGUMENT)
    if settings.timezone:
        return Zone(settings.timezone, LATE_TIMEZONE)
    if settings.transport == "stdio":
        local = machine_zone()
        if local:
            return Zone(local, COMPUTER)
    if needed:
        raise ToolInputError(
            "scheduled_for has no UTC offset and no time zone is known: pass timezone (an IANA name such "
            "as 'Europe/Amsterdam', the zone the person means), or give scheduled_for with an offset "
            "(e.g. '2026-12-01T09:00+01:00'). The operator can set LATE_TIMEZONE as a default."
        )
    return Zone("UTC", "default (UTC)")


async def client_zone(client: LateClient, profiles: Mapping[str, str], *, refuse_mixed: bool) -> Zone | None:
    """The clients' own zone, from their queues (`profiles`: id -> name); None when no queue has one
    or, unless `refuse_mixed`, when they differ. One GET /v1/queue/slots per profile."""
    zones: dict[str, str] = {}
    for profile_id in sorted(profiles):
        schedule = (await client.queue_slots(profile_id)).schedule
        if schedule is not None and schedule.timezone:
            zones[profile_id] = schedule.timezone
    if len(set(zones.values())) > 1:
        if not refuse_mixed:
            return None
        listed = ", ".join(f"{quoted(profiles[p])} {zones[p]}" for p in sorted(zones))
        raise ToolInputError(
            f"scheduled_for has no UTC offset and the accounts belong to clients in different zones "
            f"({listed}): pass timezone (the IANA zone the person means), or give scheduled_for with an "
            "offset, or post to each client separately."
        )
    for name in zones.values():
        try:
            zone_info(name)
        except (ZoneInfoNotFoundError, ValueError):
            return None  # a zone Late sent that this computer does not know: not used
        return Zone(name, CLIENT_QUEUE)
    return None


async def decide_zone(
    client: LateClient,
    settings: Settings,
    timezone: str | None,
    scheduled_for: str | None,
    profiles: Mapping[str, str],
    *,
    compare: bool = False,
) -> tuple[Zone, Zone | None]:
    """The zone this call's times are read and shown in, and the clients' queue zone when it was
    looked up (needed: nothing before it decided; or `compare`, to warn when they differ)."""
    local = scheduled_for is not None and not has_offset(scheduled_for)
    chosen: Zone | None = None
    if timezone:
        chosen = pick_zone(timezone, settings, needed=False)
    elif scheduled_for is not None:
        chosen = offset_zone(scheduled_for)
    theirs = None
    if profiles and (chosen is None or compare):
        theirs = await client_zone(client, profiles, refuse_mixed=chosen is None and local)
    if chosen is None:
        chosen = theirs or pick_zone(None, settings, needed=local)
    return chosen, theirs


def edit_zone(
    timezone: str | None, scheduled_for: str | None, post_zone: str | None, settings: Settings
) -> Zone:
    """posts_update's zone: the call's timezone, the offset, the zone the post was made in, then
    LATE_TIMEZONE and this computer; each labelled with what decided it."""
    if timezone:
        return pick_zone(timezone, settings, needed=False)
    if scheduled_for is not None and (fixed := offset_zone(scheduled_for)) is not None:
        return fixed
    if post_zone:
        try:
            zone_info(post_zone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return Zone(post_zone, THE_POST)
    return pick_zone(None, settings, needed=scheduled_for is not None and not has_offset(scheduled_for))


def zone_warning(zone: Zone, theirs: Zone | None, when: datetime | None) -> str | None:
    """Why a scheduled time may not be the one meant: read in this computer's zone, or in a zone
    whose clock differs from the client's at that instant."""
    if when is None:
        return None
    if zone.source == COMPUTER:
        return (
            f"{_clock(when.astimezone(zone.info))} was read in this computer's zone ({zone.name}), "
            "which may not be the client's: pass timezone, the zone the person means."
        )
    if theirs is None or when.astimezone(zone.info).utcoffset() == when.astimezone(theirs.info).utcoffset():
        return None
    return (
        f"{_clock(when.astimezone(zone.info))} {zone.name} ({zone.source}) is "
        f"{_clock(when.astimezone(theirs.info))} in the client's queue zone {theirs.name}: check which "
        "the person means."
    )


def has_offset(scheduled_for: str) -> bool:
    try:
        return datetime.fromisoformat(scheduled_for.strip()).tzinfo is not None
    except ValueError:
        return False


def parse_schedule(scheduled_for: str, zone: Zone, now: datetime | None = None) -> datetime:
    """The instant `scheduled_for` names: with an offset as given, without one local to `zone`.

    Refuses unparsable values and instants that are not in the future."""
    text = scheduled_for.strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ToolInputError(
            f"scheduled_for {scheduled_for!r} is not an ISO 8601 date-time; use e.g. '2026-12-01T09:00' "
            "(local to timezone) or '2026-12-01T09:00:00+01:00'."
        ) from None
    if when.tzinfo is None:
        when = place_local(when, zone)
    now = now or datetime.now(UTC)
    if when <= now:
        raise ToolInputError(
            f"scheduled_for {when.isoformat()} is in the past (it is now "
            f"{local_text(now, zone.name)}). Give a future time, or publish_now=true to post immediately."
        )
    return when


def place_local(local: datetime, zone: Zone) -> datetime:
    """The one instant the wall-clock time `local` (no offset) names in `zone`.

    Refuses a time in a gap (clocks jump forward past it: it never happens) and one in an overlap
    (clocks go back: it happens twice), naming the valid choices."""
    first, second = local.replace(tzinfo=zone.info, fold=0), local.replace(tzinfo=zone.info, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    switch = _transition(local, zone.info)
    before, after = (switch - timedelta(seconds=1)).astimezone(zone.info), switch.astimezone(zone.info)
    shown, day = _clock(local), f"{local.day} {local:%b %Y}"
    if first.astimezone(UTC).astimezone(zone.info).replace(tzinfo=None) != local:  # skipped over
        jump_from = (switch + _offset(before)).replace(tzinfo=None)
        last = (jump_from - timedelta(minutes=1)).replace(tzinfo=zone.info)
        dated = jump_from.date() != after.date()  # a skipped day (Samoa, 2011)
        raise ToolInputError(
            f"scheduled_for {shown} does not exist on {day} in {zone.name}: clocks jump from "
            f"{_clock(jump_from, dated)} to {_clock(after, dated)}; use {_clock(last)} {before.tzname()} or "
            f"{_clock(after)} {after.tzname()} (scheduled_for '{_iso(last)}' "
            f"or '{_iso(after)}'), whichever the person means."
        )
    earlier, later = first.astimezone(UTC), second.astimezone(UTC)
    if later < earlier:  # an overlap made by a zone moving east: fold=1 comes first
        earlier, later = later, earlier
    one, two = earlier.astimezone(zone.info), later.astimezone(zone.info)
    raise ToolInputError(
        f"scheduled_for {shown} happens twice on {day} in {zone.name} (clocks go back from "
        f"{_clock((switch + _offset(before)).replace(tzinfo=None))} to {_clock(after)}): "
        f"first at {_iso(one)} ({one.tzname()}), then {_span(later - earlier)} later at {_iso(two)} "
        f"({two.tzname()}). Ask which one is meant and pass scheduled_for with its offset, e.g. "
        f"'{_iso(one)}'."
    )


def _transition(local: datetime, zone: tzinfo) -> datetime:
    """The UTC instant the offset changes at, for a wall-clock time in a gap or an overlap."""
    offsets = [local.replace(tzinfo=zone, fold=fold).utcoffset() for fold in (0, 1)]
    candidates = [local.replace(tzinfo=UTC) - o for o in offsets if o is not None]
    low, high = min(candidates), max(candidates)  # the offset changes in (low, high]
    old = _offset(low.astimezone(zone))
    while high - low > timedelta(seconds=1):  # about a dozen steps for an hour
        middle = low + timedelta(seconds=(high - low).total_seconds() // 2)
        if _offset(middle.astimezone(zone)) == old:
            low = middle
        else:
            high = middle
    return high


def _offset(moment: datetime) -> timedelta:
    return moment.utcoffset() or timedelta(0)


def _clock(moment: datetime, dated: bool = False) -> str:
    """`02:30` (`02:30:15` with seconds); `dated`: `30 Dec 02:30`."""
    clock = f"{moment:%H:%M:%S}" if moment.second or moment.microsecond else f"{moment:%H:%M}"
    return f"{moment.day} {moment:%b} {clock}" if dated else clock


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds" if moment.second else "minutes")


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    return " ".join(part for part in (f"{hours} h" if hours else "", f"{rest} min" if rest else "") if part)


def local_text(moment: datetime, zone_name: str) -> str:
    """`Tue 24 Nov 2026 09:00 Europe/Amsterdam`."""
    local = moment.astimezone(zone_info(zone_name))
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} {zone_name}"


def from_now(moment: datetime, now: datetime | None = None) -> str:
    """`in 14 h 40 min`, `in 3 days 2 h`, `5 min ago`, `now`."""
    seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        span = f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    elif hours:
        span = f"{hours} h {mins} min"
    elif mins:
        span = f"{mins} min"
    else:
        return "now"
    return f"in {span}" if seconds > 0 else f"{span} ago"


def when_view(moment: datetime, zone: Zone, now: datetime | None = None) -> WhenView:
    utc = moment.astimezone(UTC)
    return WhenView(
        utc=utc.isoformat().replace("+00:00", "Z"),
        local=local_text(moment, zone.name),
        zone=zone.name,
        zone_source=zone.source,
        from_now=from_now(moment, now),
    )


def when_text(view: WhenView) -> str:
    """The human form, naming the zone's source: `Tue 24 Nov 2026 09:00 Europe/Amsterdam (the
    client's queue zone), in 14 h 40 min`."""
    return f"{view.local} ({view.zone_source}), {view.from_now}"
