"""How posts appear in results: compact, with each account's platform, handle and client."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from late_mcp.core.outside import quoted, word
from late_mcp.late.models import Pagination, Post, parse_timestamp
from late_mcp.tools._targets import Directory
from late_mcp.tools._views import View


class TargetView(View):
    platform: str
    account_id: str | None = None
    username: str | None = None
    profile: str | None = None
    status: str | None = None
    url: str | None = None
    error: str | None = None


class PostView(View):
    id: str
    status: str | None = None
    title: str | None = None
    content: str | None = None
    scheduled_for: str | None = None  # in the post's own zone (`timezone`), the one it was asked in
    timezone: str | None = None
    media: list[str] | None = None
    targets: list[TargetView]


class PostListResult(View):
    posts: list[PostView]
    pagination: Pagination | None = None


class Deleted(View):
    deleted: str


def view(post: Post, directory: Directory | None = None, *, preview: int | None = None) -> PostView:
    """`post` for a result; `directory` fills in handles and clients Late sent only as ids."""
    content = post.content
    if preview is not None and content and len(content) > preview:
        content = content[: preview - 1] + "…"
    targets = []
    for t in post.platforms:
        known = directory.by_id.get(t.account_id or "") if directory else None
        username = (t.account.username if t.account else None) or (known.username if known else None)
        targets.append(
            TargetView(
                platform=t.platform,
                account_id=t.account_id,
                username=username,
                profile=directory.view(known).profile if directory and known else None,
                status=t.status,
                url=t.platform_post_url,
                error=t.error_message,
            )
        )
    return PostView(
        id=post.id,
        status=post.status,
        title=post.title,
        content=content,
        scheduled_for=in_post_zone(post.scheduled_for, post.timezone),
        timezone=post.timezone,
        media=[m.url for m in post.media_items] or None,
        targets=targets,
    )


def in_post_zone(scheduled_for: str | None, zone: str | None) -> str | None:
    """Late's UTC `scheduledFor` as the same instant in the post's zone, `2026-12-02T09:00+01:00`
    (as Late sent it when the zone is unknown here)."""
    moment = parse_timestamp(scheduled_for)
    if moment is None or not zone:
        return scheduled_for
    try:
        local = moment.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return scheduled_for
    return local.isoformat(timespec="seconds" if local.second else "minutes")


def accounts_text(post: PostView) -> str:
    """`instagram @acme, facebook @"Acme Bakery" ("Acme Bakery")`: who a post goes to, for
    summaries; names come from outside, so they are quoted (core/outside.py)."""
    names = ", ".join(
        f"{word(t.platform)} @{word(t.username.lstrip('@'))}" if t.username else word(t.platform)
        for t in post.targets
    )
    clients = sorted({t.profile for t in post.targets if t.profile})
    return f"{names} ({', '.join(map(quoted, clients))})" if clients else names
