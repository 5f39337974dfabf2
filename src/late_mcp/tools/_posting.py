"""The decisions behind posts_create, kept apart from I/O: which accounts, when, and what media."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from late_mcp.late.models import Account
from late_mcp.platforms import CONTENT_TYPES, content_type_for, normalize_platform, supported_extensions
from late_mcp.tools._common import ToolInputError

MODES_HELP = (
    "Choose exactly one way to post: publish_now=true (publish immediately), is_draft=true (save a "
    "draft), use_queue=true (next free slot of the profile's queue) or scheduled_for (ISO 8601, e.g. "
    "'2026-12-01T09:00' with timezone='Europe/Amsterdam')."
)


def choose_mode(publish_now: bool, is_draft: bool, use_queue: bool, scheduled_for: str | None) -> str:
    chosen = [
        name
        for name, on in (
            ("publish_now", publish_now),
            ("is_draft", is_draft),
            ("use_queue", use_queue),
            ("scheduled_for", scheduled_for is not None),
        )
        if on
    ]
    if len(chosen) != 1:
        given = ", ".join(chosen) if chosen else "none of them"
        raise ToolInputError(f"{MODES_HELP} You gave: {given}.")
    return chosen[0]


def zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolInputError(
            f"timezone {timezone!r} is not an IANA time zone name; use one like 'Europe/Amsterdam', "
            "'America/New_York' or 'UTC'."
        ) from None


def parse_schedule(scheduled_for: str, timezone: str, now: datetime | None = None) -> datetime:
    """The instant `scheduled_for` names: with an offset as given, without one local to `timezone`.

    Refuses unparsable values and instants that are not in the future."""
    tz = zone(timezone)
    text = scheduled_for.strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ToolInputError(
            f"scheduled_for {scheduled_for!r} is not an ISO 8601 date-time; use e.g. '2026-12-01T09:00' "
            "(local to timezone) or '2026-12-01T09:00:00+01:00'."
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    now = now or datetime.now(UTC)
    if when <= now:
        raise ToolInputError(
            f"scheduled_for {when.isoformat()} is in the past (it is now "
            f"{now.astimezone(tz).isoformat(timespec='minutes')} in {timezone}). Give a future time, "
            "or publish_now=true to post immediately."
        )
    return when


def resolve_accounts(
    requested: Sequence[str], accounts: Sequence[Account], profile_id: str | None
) -> list[Account]:
    """Map each requested item (account id or platform name) to exactly one connected account."""
    by_id = {a.id: a for a in accounts}
    chosen: dict[str, Account] = {}
    scope = f" in profile {profile_id}" if profile_id else ""
    for item in requested:
        key = item.strip()
        account = by_id.get(key)
        if account is None:
            platform = normalize_platform(key)
            if platform is None:
                raise ToolInputError(
                    f"{item!r} is neither a connected account id{scope} nor a platform name. "
                    "Call accounts_list to see account ids, or use a platform name such as 'twitter'."
                )
            matches = [a for a in accounts if a.platform == platform]
            if not matches:
                raise ToolInputError(
                    f"No {platform} account is connected{scope}. Connect one with invites_create "
                    "(client's own account) or accounts_connect_link, then accounts_list."
                )
            if len(matches) > 1:
                listed = "; ".join(f"{a.id} ({a.label()}, profile {_profile_name(a)})" for a in matches)
                hint = "" if profile_id else ", or pass profile_id to narrow it down"
                raise ToolInputError(
                    f"'{item}' matches {len(matches)} {platform} accounts{scope}: {listed}. "
                    f"Pass the account id instead{hint}."
                )
            account = matches[0]
        if not account.is_active:
            raise ToolInputError(
                f"Account {account.id} ({account.label()}) is disconnected or inactive; reconnect it "
                "(invites_create or accounts_connect_link) before posting to it."
            )
        chosen[account.id] = account
    return list(chosen.values())


def _profile_name(account: Account) -> str:
    return (account.profile.name if account.profile else None) or account.profile_id or "?"


def media_items(urls: Sequence[str], media_type: str | None) -> list[dict[str, str]]:
    items = []
    for url in urls:
        if not url.startswith(("https://", "http://")):
            raise ToolInputError(
                f"media URL {url!r} must be a public http(s) URL; upload local files with "
                "media_upload_file first."
            )
        content_type = content_type_for(url.rsplit("/", 1)[-1])
        kind = CONTENT_TYPES[content_type] if content_type else media_type
        if kind is None:
            raise ToolInputError(
                f"Cannot tell the media type of {url!r} from its name (known: {supported_extensions()}). "
                "Pass media_type ('image', 'video', 'gif' or 'document')."
            )
        items.append({"type": kind, "url": url})
    return items
