"""The client's decision on a post awaiting approval: posts_review (approve or reject).

A post made with `posts_create(requires_approval=true)` is `pending_approval` at Late and never
publishes until it is approved. posts_review previews exactly the post as Late keeps it (every
account with its client and handle, each account's text, every thread part, first comment, title
and settings, the media, and its time in the post's zone) with a confirm_token, and decides it on
confirmation: `approve` schedules it (publishing within minutes when its time has passed),
`reject` returns it to draft. It is a write like any other: journaled, run once per confirm token
(concurrent confirmations act once), limited to the caller's profiles, and refused for a post that
is not awaiting approval. Late's review takes only the decision (no note: one would go nowhere).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.core.outside import word
from late_mcp.core.toolsets import Domain
from late_mcp.late.errors import ConflictError
from late_mcp.late.models import Post, PostTarget, parse_timestamp
from late_mcp.safety.confirm import Confirm, confirm_step
from late_mcp.safety.idempotency import IdempotencyKey
from late_mcp.tools._approval import PENDING
from late_mcp.tools._common import ToolInputError, app, ok, tool
from late_mcp.tools._post_views import PostView, accounts_text, view
from late_mcp.tools._targets import AccountView, Directory, load_account_names
from late_mcp.tools._views import View
from late_mcp.tools._when import THE_POST, WhenView, Zone, when_text, when_view, zone_named
from late_mcp.tools.posts import PostId
from late_mcp.tools.publishing import PublishedTo

Decision = Literal["approve", "reject"]
# Keys of a target's platformSpecificData the preview shows in their own fields.
_SHOWN_APART = {"threadItems", "firstComment", "title"}


class ReviewPreview(View):
    """What the person decides on: exactly the post as Late keeps it, and what the decision does."""

    decision: Decision
    post_id: str
    targets: list[PublishedTo]
    media: list[str] | None = None
    title: str | None = None
    when: WhenView | None = None
    effect: str


class Reviewed(View):
    decision: Decision
    post: PostView
    when: WhenView | None = None


def _account(target: PostTarget, directory: Directory) -> AccountView:
    known = directory.by_id.get(target.account_id or "")
    if known is not None:
        return directory.view(known)
    ref = target.account
    return AccountView(
        account_id=target.account_id or "?",
        platform=target.platform,
        username=(ref.username or ref.display_name) if ref else None,
    )


def sent_to(post: Post, directory: Directory) -> list[PublishedTo]:
    """Per account, what the post will publish there: its own text (customContent, else the
    post's), the thread's follow-up posts, first comment, title and every other setting."""
    shown = []
    for target in post.platforms:
        data: dict[str, Any] = dict(target.platform_specific_data or {})
        items = data.get("threadItems") or []
        thread = [str(item.get("content", "")) for item in items if isinstance(item, dict)]
        settings = {k: v for k, v in data.items() if k not in _SHOWN_APART}
        shown.append(
            PublishedTo(
                account=_account(target, directory),
                text=thread[0] if thread else (target.custom_content or post.content or ""),
                thread=thread[1:] or None,
                first_comment=data.get("firstComment"),
                title=data.get("title"),
                settings=settings or None,
            )
        )
    return shown


def _zone(post: Post) -> Zone:
    """The zone the post was scheduled in (the client's, as posts_create chose it), else UTC."""
    if post.timezone:
        try:
            zone_named(post.timezone)
        except ToolInputError:
            pass
        else:
            return Zone(post.timezone, THE_POST)
    return Zone("UTC", "default (UTC)")


def _effect(decision: Decision, when: WhenView | None, due: bool) -> str:
    if decision == "reject":
        return "Returns the post to draft; nothing is published."
    if due or when is None:
        return "Publishes within minutes, publicly (its time has come); Late cannot take it back."
    return f"Schedules the post: it publishes publicly at {when_text(when)}."


@tool(Domain.POSTS, "update", touches={"post": "post_id"}, app="preview")
async def posts_review(
    post_id: PostId,
    decision: Annotated[Decision, Field(description="reject: back to draft.")],
    ctx: Context,
    confirm: Confirm = None,
    idempotency_key: IdempotencyKey = None,
) -> CallToolResult:
    """Decide a post awaiting approval. Previews, returns confirm_token."""
    context = app(ctx)
    client = context.client
    post = await client.get_post(post_id)
    if post.status != PENDING:
        raise ToolInputError(
            f"Post {post_id} is {word(post.status or 'without a status')}, not {PENDING}: only a post "
            "awaiting approval can be reviewed, and nothing was changed. posts_list(status="
            f"'{PENDING}', profile_id=...) lists the posts awaiting approval."
        )
    directory = await load_account_names(client)
    moment = parse_timestamp(post.scheduled_for)
    when = when_view(moment, _zone(post)) if moment else None
    due = moment is not None and moment <= datetime.now(UTC)
    preview = ReviewPreview(
        decision=decision,
        post_id=post.id,
        targets=sent_to(post, directory),
        media=[m.url for m in post.media_items] or None,
        title=post.title,
        when=when,
        effect=_effect(decision, when, due),
    )
    shown = view(post, directory)
    what = f"{decision} post {post_id} to {accounts_text(shown)}"
    stop = await confirm_step(
        ctx, context.confirm_tokens, context.settings.confirm, "posts_review", confirm, preview, what
    )
    if stop is not None:
        return stop
    try:
        decided = await client.review_post(post_id, decision)
    except ConflictError as exc:
        raise exc.with_context(
            hint="The post was decided in the meantime (it is no longer awaiting approval); "
            "posts_get shows its status now."
        ) from exc
    result = view(decided, directory)
    done = "Approved" if decision == "approve" else "Rejected"
    summary = f"{done} post {word(decided.id)}: now {word(decided.status)}, to {accounts_text(result)}"
    if decision == "approve" and when is not None and decided.status != "published":
        summary += f"; publishes at {when_text(when)}"
    return ok(ctx, summary + ".", Reviewed(decision=decision, post=result, when=when))
