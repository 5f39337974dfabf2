"""Shared pieces of the sandbox store: ids and constants, timestamps, the error type, field checks."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from late_mcp.core.platforms import PLATFORMS

Json = dict[str, Any]
Clock = Callable[[], datetime]

SANDBOX_USER_ID = "64c000000000000000000001"
SEED_PROFILE_ACME = "64a000000000000000000001"
SEED_PROFILE_NORDIC = "64a000000000000000000002"
SEED_ACCOUNT_ACME_TWITTER = "64b000000000000000000001"
SEED_ACCOUNT_ACME_INSTAGRAM = "64b000000000000000000002"
SEED_ACCOUNT_ACME_LINKEDIN = "64b000000000000000000003"
SEED_ACCOUNT_ACME_FACEBOOK = "64b000000000000000000004"
SEED_ACCOUNT_NORDIC_TWITTER = "64b000000000000000000005"
SEED_ACCOUNT_NORDIC_DEALS_TWITTER = "64b000000000000000000006"
SEED_ACCOUNT_NORDIC_TIKTOK = "64b000000000000000000007"
SEED_ACCOUNT_NORDIC_YOUTUBE = "64b000000000000000000008"
SEED_QUEUE_ACME = "64d000000000000000000001"
SEED_QUEUE_NORDIC = "64d000000000000000000002"

RATE_LIMIT = 600
PLAN_LIMITS = {"uploads": 1000, "profiles": 50}
MAX_UPLOAD_BYTES = 5 * 1024**3
PRESIGN_TTL = timedelta(hours=1)
INVITE_TTL = timedelta(days=7)
POST_STATUSES = ("draft", "pending_approval", "scheduled", "publishing", "published", "failed", "partial")
REVIEW_DECISIONS = ("approve", "reject")  # POST /v1/posts/{postId}/review
EDITABLE_STATUSES = ("draft", "scheduled", "failed", "partial")
MEDIA_TYPES = ("image", "video", "gif", "document")
# Content types the presign endpoint accepts, with the `type` it reports (gif counts as image).
PRESIGN_TYPES: dict[str, str] = {
    **dict.fromkeys(("image/jpeg", "image/jpg", "image/png", "image/webp", "image/gif"), "image"),
    **dict.fromkeys(
        ("video/mp4", "video/mpeg", "video/quicktime", "video/avi", "video/x-msvideo", "video/webm"),
        "video",
    ),
    "video/x-m4v": "video",
    "application/pdf": "document",
}
PROFILE_URLS = {
    "twitter": "https://x.com/{u}",
    "instagram": "https://instagram.com/{u}",
    "tiktok": "https://tiktok.com/@{u}",
    "youtube": "https://youtube.com/@{u}",
    "linkedin": "https://www.linkedin.com/company/{u}/",
    "threads": "https://threads.net/@{u}",
    "pinterest": "https://pinterest.com/{u}",
    "reddit": "https://reddit.com/user/{u}",
    "bluesky": "https://bsky.app/profile/{u}",
    "facebook": "https://facebook.com/{u}",
    "googlebusiness": "https://maps.google.com/?q={u}",
    "telegram": "https://t.me/{u}",
    "snapchat": "https://snapchat.com/add/{u}",
}
POST_URLS = {
    "twitter": "https://x.com/{u}/status/{id}",
    "instagram": "https://www.instagram.com/p/{id}/",
    "tiktok": "https://www.tiktok.com/@{u}/video/{id}",
    "youtube": "https://www.youtube.com/watch?v={id}",
    "linkedin": "https://www.linkedin.com/feed/update/urn:li:share:{id}",
    "threads": "https://www.threads.net/@{u}/post/{id}",
    "pinterest": "https://pinterest.com/pin/{id}/",
    "reddit": "https://reddit.com/comments/{id}",
    "bluesky": "https://bsky.app/profile/{u}/post/{id}",
    "facebook": "https://facebook.com/{id}",
    "googlebusiness": "https://business.google.com/posts/{id}",
    "telegram": "https://t.me/{u}/{id}",
    "snapchat": "https://www.snapchat.com/spotlight/{id}",
}


class SandboxError(Exception):
    """A request the sandbox refuses: the HTTP status plus the `error` message to send."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad(message: str) -> SandboxError:
    """A 400 validation error."""
    return SandboxError(400, message)


def utc_now() -> datetime:
    """The default clock: now, in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and Z, the way Late writes timestamps."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_id() -> str:
    """A fresh id shaped like a Mongo ObjectId: 24 lowercase hex characters."""
    return secrets.token_hex(12)


def opt_str(body: Mapping[str, Any], field: str) -> str | None:
    """`body[field]` if it is a string, None if absent or null; 400 for any other type."""
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise bad(f"{field} must be a string")
    return value


def opt_bool(body: Mapping[str, Any], field: str) -> bool | None:
    """`body[field]` if it is a boolean, None if absent or null; 400 for any other type."""
    value = body.get(field)
    if value is not None and not isinstance(value, bool):
        raise bad(f"{field} must be true or false")
    return value


def check_platform(value: Any, field: str = "platform") -> str:
    """`value` if it is one of Late's 13 platform names; 400 naming the allowed values otherwise."""
    if not isinstance(value, str) or value not in PLATFORMS:
        raise bad(f"{field} must be one of: {', '.join(PLATFORMS)} (got {value!r})")
    return value


def is_http_url(value: Any) -> bool:
    """Whether `value` is an absolute http(s) URL."""
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def zone(name: Any) -> ZoneInfo:
    """The IANA time zone called `name`; 400 if there is none."""
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise bad(f"timezone must be an IANA time zone name such as Europe/Amsterdam or UTC (got {name!r})")


def parse_when(value: Any, tz: ZoneInfo, field: str = "scheduledFor") -> datetime:
    """An ISO 8601 date-time as UTC; a value without an offset is read as local time in `tz`."""
    hint = f"{field} must be an ISO 8601 date-time such as 2026-11-22T11:19:26Z (got {value!r})"
    if not isinstance(value, str) or not value.strip():
        raise bad(hint)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise bad(hint) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def int_param(value: str | None, field: str, default: int, maximum: int | None = None) -> int:
    """A positive whole-number query parameter, at most `maximum`; 400 otherwise."""
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise bad(f"{field} must be a whole number (got {value!r})") from exc
    if number < 1 or (maximum is not None and number > maximum):
        allowed = f"between 1 and {maximum}" if maximum else "at least 1"
        raise bad(f"{field} must be {allowed} (got {number})")
    return number


def queue_slots(queue: Json, after: datetime, days: int = 400) -> Iterator[datetime]:
    """The queue's slots strictly after `after`, in time order, as UTC datetimes."""
    tz = ZoneInfo(queue["timezone"])
    start = after.astimezone(tz).date()
    for offset in range(days):
        day = start + timedelta(days=offset)
        weekday = (day.weekday() + 1) % 7  # Late counts 0 = Sunday
        for hhmm in sorted(s["time"] for s in queue["slots"] if s["dayOfWeek"] == weekday):
            hour, minute = (int(part) for part in hhmm.split(":"))
            slot = datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)
            if slot > after:
                yield slot
