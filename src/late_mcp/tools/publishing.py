"""Creating posts safely: posts_create, posts_validate (the same checks, nothing sent),
posts_platform_rules (one platform's rules and options) and time_now."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.core.outside import word
from late_mcp.core.platforms import MediaType
from late_mcp.core.toolsets import Domain
from late_mcp.late.client import LateClient
from late_mcp.late.errors import LateAPIError, LateError
from late_mcp.late.models import parse_timestamp
from late_mcp.rules import describe, rule_count
from late_mcp.safety.confirm import Confirm, confirm_step
from late_mcp.safety.idempotency import IdempotencyKey
from late_mcp.safety.once import AnotherForm, create_post_once
from late_mcp.tools._approval import PENDING, await_approval
from late_mcp.tools._common import ID_PATTERN, PlatformName, ToolInputError, app, ok, plural, tool
from late_mcp.tools._plan import PostArgs, PostPlan, ProblemView, plan_post
from late_mcp.tools._post_views import PostView, accounts_text, view
from late_mcp.tools._targets import AccountView
from late_mcp.tools._views import View
from late_mcp.tools._when import WhenView, local_text, pick_zone, when_text, when_view
from late_mcp.tools.queue import raise_with_queue_hint

# Constraints only; posts_create adds descriptions (posts_validate takes the same, described once).
_Content = Annotated[str, Field(max_length=100_000)]
_Accounts = Annotated[list[Annotated[str, Field(max_length=80)]], Field(min_length=1, max_length=50)]
_ProfileId = Annotated[str | None, Field(pattern=ID_PATTERN)]
_When = Annotated[str | None, Field(max_length=40)]
_Zone = Annotated[str | None, Field(max_length=64)]
_Media = Annotated[list[Annotated[str, Field(max_length=2000)]] | None, Field(max_length=40)]
_Title = Annotated[str | None, Field(max_length=1000)]
_Options = dict[str, dict[str, Any]] | None
_Custom = dict[str, Annotated[str, Field(max_length=100_000)]] | None


class PostResult(View):
    post: PostView
    when: WhenView | None = None
    warnings: list[ProblemView] | None = None
    note: str | None = None


class PublishedTo(View):
    """What one account will be sent, read from the request itself: the text (its own, when
    custom_content gives one), the thread's follow-up posts, the first comment, its own title and
    every other platform setting."""

    account: AccountView
    text: str
    fold: int | None = None  # the feed shows this many characters before "more" (when text is longer)
    zone: str | None = None  # the client's zone: where the preview app shows the time
    thread: list[str] | None = None  # thread posts 2, 3, ... in order
    first_comment: str | None = None
    title: str | None = None
    settings: dict[str, Any] | None = None


class PublishPreview(View):
    targets: list[PublishedTo]
    media: list[str] | None = None  # every account gets these
    title: str | None = None
    effect: str


# Where a feed cuts a long text behind "more" (characters shown first), as the platforms' own
# apps do it at the time of writing; the preview app shows the cut there.
FEED_FOLD = {"instagram": 125, "linkedin": 210, "facebook": 477}
# Keys of a target's platformSpecificData the preview shows in their own fields.
_SHOWN_APART = {"threadItems", "firstComment", "title"}


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def published_to(plan: PostPlan, zones: Mapping[str, str] | None = None) -> list[PublishedTo]:
    """Per account, exactly what Late's request carries for it (plan.body is what is sent);
    `zones`: each client's (profile id's) own zone, for the time the preview shows."""
    shown: list[PublishedTo] = []
    for account, target in zip(plan.targets, plan.body["platforms"], strict=True):
        data: dict[str, Any] = dict(target.get("platformSpecificData") or {})
        thread = [str(item["content"]) for item in data.get("threadItems", [])]
        settings = {_snake(k): v for k, v in data.items() if k not in _SHOWN_APART and k != "tiktokSettings"}
        settings.update(data.get("tiktokSettings") or {})
        text = thread[0] if thread else str(target.get("customContent", plan.body["content"]))
        fold = FEED_FOLD.get(account.platform)
        shown.append(
            PublishedTo(
                account=plan.directory.view(account),
                text=text,
                fold=fold if fold is not None and len(text) > fold else None,
                zone=(zones or {}).get(account.profile_id or "", plan.zone.name),
                thread=thread[1:] or None,
                first_comment=data.get("firstComment"),
                title=data.get("title"),
                settings=settings or None,
            )
        )
    return shown


async def _client_zones(client: LateClient, plan: PostPlan) -> dict[str, str]:
    """Each target client's own zone (its queue's), for the publish preview's time; a client
    without one, or whose queue cannot be read now, is shown in the post's zone."""
    zones: dict[str, str] = {}
    for profile_id in sorted({a.profile_id for a in plan.targets if a.profile_id}):
        try:
            schedule = (await client.queue_slots(profile_id)).schedule
        except LateError:
            continue
        if schedule is not None and schedule.timezone:
            zones[profile_id] = schedule.timezone
    return zones


class Validation(View):
    valid: bool
    problems: list[ProblemView]
    targets: list[PublishedTo]  # what the post would send each account, as the publish preview shows
    when: WhenView | None = None
    zone_warning: str | None = None
    late: dict[str, Any] | None = None


@tool(Domain.POSTS, "create", touches={"accounts": "accounts", "profile": "profile_id"}, app="preview")
async def posts_create(
    content: Annotated[_Content, Field(description="Post text.")],
    accounts: Annotated[
        _Accounts,
        Field(description="Ids, '@user', 'platform:@user' or platform names (names need profile_id)."),
    ],
    ctx: Context,
    profile_id: Annotated[_ProfileId, Field(description="The client's profile.")] = None,
    publish_now: Annotated[bool, Field(description="Publish now (confirmed first).")] = False,
    is_draft: Annotated[bool, Field(description="Save as draft.")] = False,
    use_queue: Annotated[bool, Field(description="Next free queue slot.")] = False,
    scheduled_for: Annotated[
        _When, Field(description="ISO 8601. Zone matters: offset, else timezone, else the client's.")
    ] = None,
    timezone: Annotated[_Zone, Field(description="IANA zone, e.g. Europe/Amsterdam.")] = None,
    media_urls: Annotated[_Media, Field(description="Public URLs (media_upload_file).")] = None,
    media_type: Annotated[MediaType | None, Field(description="Type when URLs lack an extension.")] = None,
    title: Annotated[_Title, Field(description="Title (YouTube, Pinterest, Reddit).")] = None,
    options: Annotated[
        _Options,
        Field(description='Per platform, e.g. {"tiktok":{...}}; see posts_platform_rules.'),
    ] = None,
    custom_content: Annotated[_Custom, Field(description="Text per platform.")] = None,
    allow_duplicate: Annotated[bool, Field(description="Allow an identical recent post.")] = False,
    requires_approval: Annotated[
        bool, Field(description="Await the client's approval (posts_review).")
    ] = False,
    confirm: Confirm = None,
    idempotency_key: IdempotencyKey = None,
) -> CallToolResult:
    """Post to a client's accounts: one of publish_now, is_draft, use_queue, scheduled_for.
    Rules checked first; publish_now previews, returns confirm_token."""
    context = app(ctx)
    plan = await plan_post(
        context,
        PostArgs(
            content=content,
            accounts=accounts,
            profile_id=profile_id,
            publish_now=publish_now,
            is_draft=is_draft,
            use_queue=use_queue,
            scheduled_for=scheduled_for,
            timezone=timezone,
            media_urls=media_urls,
            media_type=media_type,
            title=title,
            options=options,
            custom_content=custom_content,
        ),
    )
    if plan.problems and plan.mode != "is_draft":
        raise ToolInputError(
            f"Nothing was sent: {plural(len(plan.problems), 'platform rule')} broken. "
            f"{plan.problems_text()} (posts_validate checks a post without sending it.)"
        )
    if requires_approval:  # nothing publishes before posts_review approves it: no confirmation now
        await_approval(plan)
    names = ", ".join(plan.directory.label(a) for a in plan.targets)
    if plan.mode == "publish_now" and not requires_approval:
        zones = await _client_zones(context.client, plan) if confirm is None else None
        preview = PublishPreview(
            targets=published_to(plan, zones),
            media=[m["url"] for m in plan.body.get("mediaItems", [])] or None,
            title=title,
            effect="Publishes immediately and publicly; Late cannot take it back.",
        )
        what = f"publish now to {plural(len(plan.targets), 'public account')}: {names}"
        stop = await confirm_step(
            ctx, context.confirm_tokens, context.settings.confirm, "posts_create", confirm, preview, what
        )
        if stop is not None:
            return stop
    try:
        post, note = await create_post_once(
            context.client,
            context.settings,
            context.reservations,
            plan.body,
            plan.targets,
            plan.mode,
            allow_duplicate=allow_duplicate,
        )
    except AnotherForm as exc:
        raise ToolInputError(str(exc)) from exc
    except LateAPIError as exc:
        if plan.mode == "use_queue":
            raise_with_queue_hint(exc)
        raise
    shown = view(post, plan.directory)
    when = plan.when_view()
    if plan.mode == "use_queue" and (slot := parse_timestamp(post.scheduled_for)) is not None:
        when = when_view(slot, plan.zone)
    headline = {
        "publish_now": "Published",
        "is_draft": "Saved draft",
        "use_queue": "Queued",
        "scheduled_for": "Scheduled",
    }[plan.mode]
    at = f" for {when_text(when)}" if when else ""
    post_ref = f"post {word(post.id)}, status {word(post.status)}"
    summary = f"{headline}{at} to {names} ({post_ref})."
    if requires_approval:
        summary = _awaiting_summary(post.id, post.status, names, when_text(when) if when else None)
    if note == "duplicate":
        summary = (
            f"Not sent again: the same post already exists ({post_ref}, to "
            f"{accounts_text(shown)}). Pass allow_duplicate=true only if the person wants it twice."
        )
    elif note == "recovered":
        summary += " The first answer was lost and the post was found, so nothing was sent twice."
    warnings = plan.problems or None
    if warnings:
        summary += f" Warning: {plural(len(warnings), 'platform rule')} broken; fix before scheduling."
    return ok(ctx, summary, PostResult(post=shown, when=when, warnings=warnings, note=note))


def _awaiting_summary(post_id: str, status: str | None, names: str, at: str | None) -> str:
    """What a post awaiting approval will do, and the call that decides it."""
    review = f"posts_review(post_id={word(post_id)}, decision='approve' or 'reject')"
    if status != PENDING:
        return (
            f"Created post {word(post_id)} to {names}, but Late gave it status {word(status)}, not "
            f"{PENDING}: check it with posts_get before anything else."
        )
    then = f"then it publishes at {at}" if at else "then it publishes within minutes"
    then += "" if at else " (nothing was published now)"
    return (
        f"Awaiting the client's approval (post {word(post_id)}, status {PENDING}) to {names}: it "
        f"never publishes until {review} approves it; {then}."
    )


@tool(Domain.POSTS, "read", touches={"accounts": "accounts", "profile": "profile_id"})
async def posts_validate(
    content: _Content,
    accounts: _Accounts,
    ctx: Context,
    profile_id: _ProfileId = None,
    publish_now: bool = False,
    is_draft: bool = False,
    use_queue: bool = False,
    scheduled_for: _When = None,
    timezone: _Zone = None,
    media_urls: _Media = None,
    media_type: MediaType | None = None,
    title: _Title = None,
    options: _Options = None,
    custom_content: _Custom = None,
    late_check: Annotated[bool, Field(description="Also run Late's validator.")] = False,
) -> CallToolResult:
    """posts_create's checks on its arguments, creating nothing: each problem with its fix."""
    context = app(ctx)
    plan = await plan_post(
        context,
        PostArgs(
            content=content,
            accounts=accounts,
            profile_id=profile_id,
            publish_now=publish_now,
            is_draft=is_draft,
            use_queue=use_queue,
            scheduled_for=scheduled_for,
            timezone=timezone,
            media_urls=media_urls,
            media_type=media_type,
            title=title,
            options=options,
            custom_content=custom_content,
        ),
        compare_zones=True,
    )
    late = await context.client.validate_post(plan.body) if late_check else None
    valid = not plan.problems and (late is None or late.get("valid") is not False)
    when, zone_warning = plan.when_view(), plan.zone_warning()
    result = Validation(
        valid=valid,
        problems=plan.problems,
        targets=published_to(plan),
        when=when,
        zone_warning=zone_warning,
        late=late,
    )
    at = f" at {when_text(when)}" if when else ""
    if valid:
        accounts_at = f"{plural(len(plan.targets), 'account')}{at}"
        summary = f"Valid for {accounts_at}; posts_create with the same arguments."
    else:
        summary = f"Not valid: {plural(len(plan.problems), 'problem')}. {plan.problems_text()}"
        if late is not None and late.get("valid") is False:
            summary += " Late's validator also found problems (see late)."
    if zone_warning:
        summary += f" Warning: {zone_warning}"
    return ok(ctx, summary, result)


class PlatformRulesResult(View):
    platform: str
    rules: int
    details: dict[str, Any]


@tool(Domain.POSTS, "local")
async def posts_platform_rules(
    platform: Annotated[PlatformName, Field(description="Platform to describe.")], ctx: Context
) -> CallToolResult:
    """A platform's limits (text, media, title) and its posts_create options with allowed values."""
    details = describe(platform)
    return ok(
        ctx,
        f"{platform}: {plural(rule_count(platform), 'rule')}; options keys in details.",
        PlatformRulesResult(platform=platform, rules=rule_count(platform), details=details),
    )


class Now(View):
    utc: str
    local: str
    zone: str
    zone_source: str


@tool(Domain.POSTS, "local")
async def time_now(
    ctx: Context,
    timezone: Annotated[_Zone, Field(description="IANA zone; default the server's.")] = None,
) -> CallToolResult:
    """Now, UTC and local with weekday, to turn 'tomorrow 9:00' into scheduled_for."""
    zone = pick_zone(timezone, app(ctx).settings, needed=False)
    now = datetime.now(UTC)
    data = Now(
        utc=now.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        local=local_text(now, zone.name),
        zone=zone.name,
        zone_source=zone.source,
    )
    return ok(ctx, f"Now: {data.local} ({data.utc}).", data)
