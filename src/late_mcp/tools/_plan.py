"""From posts_create's arguments to a checked Late request: the plan posts_create and
posts_validate share. Everything here is decided before any write is sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from late_mcp.core.platforms import CONTENT_TYPES, content_type_for, normalize_platform, supported_extensions
from late_mcp.late.models import Account
from late_mcp.rules import (
    MediaKind,
    OptionsError,
    PlatformOptions,
    check_target,
    parse_options,
    platform_specific_data,
)
from late_mcp.tools._common import AppContext, ToolInputError
from late_mcp.tools._targets import Directory, load_directory, resolve_targets
from late_mcp.tools._views import View
from late_mcp.tools._when import (
    OFFSET,
    WhenView,
    Zone,
    decide_zone,
    parse_schedule,
    pick_zone,
    when_view,
    zone_warning,
)

Mode = Literal["publish_now", "is_draft", "use_queue", "scheduled_for"]
MODES_HELP = (
    "Choose exactly one way to post: publish_now=true (publish immediately), is_draft=true (save a "
    "draft), use_queue=true (next free slot of the profile's queue) or scheduled_for (ISO 8601, e.g. "
    "'2026-12-01T09:00' with timezone='Europe/Amsterdam')."
)


@dataclass(frozen=True)
class PostArgs:
    """posts_create's arguments, as the model gave them."""

    content: str
    accounts: Sequence[str]
    profile_id: str | None = None
    publish_now: bool = False
    is_draft: bool = False
    use_queue: bool = False
    scheduled_for: str | None = None
    timezone: str | None = None
    media_urls: Sequence[str] | None = None
    media_type: MediaKind | None = None
    title: str | None = None
    options: Mapping[str, Mapping[str, Any]] | None = None
    custom_content: Mapping[str, str] | None = None


class ProblemView(View):
    """One broken platform rule on one account, with the fix."""

    account: str
    rule: str
    message: str
    fix: str


@dataclass
class PostPlan:
    mode: Mode
    body: dict[str, Any]
    directory: Directory
    targets: list[Account]
    zone: Zone
    when: datetime | None
    problems: list[ProblemView]
    texts: dict[str, str]
    client_zone: Zone | None = None  # the clients' queue zone, when it was looked up

    def zone_warning(self) -> str | None:
        return zone_warning(self.zone, self.client_zone, self.when)

    def when_view(self) -> WhenView | None:
        return when_view(self.when, self.zone) if self.when is not None else None

    def problems_text(self) -> str:
        return " ".join(
            f"({n}) {p.account}: {p.message} Fix: {p.fix}" for n, p in enumerate(self.problems, 1)
        )


def choose_mode(args: PostArgs) -> Mode:
    flags: tuple[tuple[Mode, bool], ...] = (
        ("publish_now", args.publish_now),
        ("is_draft", args.is_draft),
        ("use_queue", args.use_queue),
        ("scheduled_for", args.scheduled_for is not None),
    )
    chosen = [name for name, on in flags if on]
    if len(chosen) != 1:
        given = ", ".join(chosen) if chosen else "none of them"
        raise ToolInputError(f"{MODES_HELP} You gave: {given}.")
    return chosen[0]


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


def _by_platform(raw: Mapping[str, Any] | None, argument: str) -> dict[str, Any]:
    """`{platform: value}` with platform names normalised; an unknown name is refused."""
    out: dict[str, Any] = {}
    for name, value in (raw or {}).items():
        platform = normalize_platform(name)
        if platform is None:
            raise ToolInputError(
                f"{argument}: {name!r} is not a platform name. Keys are platform names such as "
                "'tiktok', 'instagram', 'twitter'."
            )
        out[platform] = value
    return out


def parsed_options(raw: Mapping[str, Mapping[str, Any]] | None) -> dict[str, PlatformOptions]:
    """Every platform's options checked strictly; all errors reported at once."""
    parsed: dict[str, PlatformOptions] = {}
    errors: list[str] = []
    for platform, value in _by_platform(raw, "options").items():
        if not isinstance(value, Mapping):
            errors.append(f"options.{platform} must be an object of settings")
            continue
        try:
            parsed[platform] = parse_options(platform, value)
        except OptionsError as exc:
            errors.append(str(exc))
    if errors:
        raise ToolInputError(
            "Invalid options: " + " | ".join(errors) + " (posts_platform_rules(platform) lists each "
            "platform's options)."
        )
    return parsed


def _unused(keys: Sequence[str], platforms: set[str], argument: str) -> None:
    stray = sorted(set(keys) - platforms)
    if stray:
        raise ToolInputError(
            f"{argument} names {', '.join(stray)}, but no account of that platform is among accounts "
            f"(targets: {', '.join(sorted(platforms))}). Add the account or drop those keys."
        )


async def plan_post(context: AppContext, args: PostArgs, *, compare_zones: bool = False) -> PostPlan:
    """Check everything that can be checked locally and build Late's request body.

    `compare_zones`: look the clients' queue zone up even when the call decided the zone, so
    posts_validate can warn when the two differ."""
    mode = choose_mode(args)
    options = parsed_options(args.options)
    custom = _by_platform(args.custom_content, "custom_content")
    media = media_items(args.media_urls, args.media_type) if args.media_urls else []

    directory = await load_directory(context.client, args.profile_id)
    targets = await resolve_targets(context.client, args.accounts, directory, args.profile_id)
    timed = mode in ("scheduled_for", "use_queue")  # a time is read or shown
    clients = {
        a.profile_id: directory.profile_name(a.profile_id) or a.profile_id
        for a in targets
        if a.profile_id and timed
    }
    zone, client_zone = await decide_zone(
        context.client,
        context.settings,
        args.timezone,
        args.scheduled_for,
        clients,
        compare=compare_zones and mode == "scheduled_for",
    )
    when = parse_schedule(args.scheduled_for, zone) if args.scheduled_for is not None else None
    platforms = {a.platform for a in targets}
    _unused(list(options), platforms, "options")
    _unused(list(custom), platforms, "custom_content")

    kinds: list[MediaKind] = [item["type"] for item in media]  # type: ignore[misc]
    problems: list[ProblemView] = []
    texts: dict[str, str] = {}
    wire_targets: list[dict[str, Any]] = []
    for account in targets:
        text = custom.get(account.platform, args.content)
        texts[account.id] = text
        opts = options.get(account.platform)
        for problem in check_target(account.platform, text=text, media=kinds, title=args.title, options=opts):
            problems.append(
                ProblemView(
                    account=directory.label(account),
                    rule=problem.rule,
                    message=problem.message,
                    fix=problem.fix,
                )
            )
        target: dict[str, Any] = {"platform": account.platform, "accountId": account.id}
        if account.platform in custom:
            target["customContent"] = text
        data = platform_specific_data(account.platform, opts, text=text)
        if data:
            target["platformSpecificData"] = data
        wire_targets.append(target)

    wire_zone = zone if zone.source != OFFSET else client_zone
    wire_zone = wire_zone or pick_zone(None, context.settings, needed=False)
    body: dict[str, Any] = {"content": args.content, "timezone": wire_zone.name, "platforms": wire_targets}
    if when is not None:
        body["scheduledFor"] = when.isoformat()
    if media:
        body["mediaItems"] = media
    if args.title:
        body["title"] = args.title
    if mode == "publish_now":
        body["publishNow"] = True
    elif mode == "is_draft":
        body["isDraft"] = True
    elif mode == "use_queue":
        queue_profiles = {args.profile_id} if args.profile_id else {a.profile_id for a in targets}
        if len(queue_profiles) != 1 or None in queue_profiles:
            raise ToolInputError(
                "use_queue needs one profile: pass profile_id (the accounts belong to different profiles)."
            )
        body["queuedFromProfile"] = queue_profiles.pop()
    return PostPlan(mode, body, directory, targets, zone, when, problems, texts, client_zone)
