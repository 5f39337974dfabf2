"""posts_create sends a post once: the duplicate guard and recovery from lost answers.

Assistants repeat calls (a retried conversation, a client timeout, several at once), and networks
lose answers. Neither may put the same post on someone's timeline twice:
- the duplicate guard reserves the post's fingerprint before sending (in the journal, so it holds
  across restarts and processes); a repeat waits for the first call and answers with its post;
- when the answer to a create is lost, the post Late may have made is looked up and reported;
  the request is sent again only when the lookup shows nothing was created. The same lookup runs
  before sending when an earlier identical call died or ended with an unknown outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from late_mcp.journal import JournalError, digest
from late_mcp.late.client import LateClient
from late_mcp.late.errors import LateError, NotFoundError
from late_mcp.late.models import Account, Post, parse_timestamp
from late_mcp.late.retry import outcome_unknown
from late_mcp.reservations import Ticket
from late_mcp.tools._common import AppContext

log = logging.getLogger("late_mcp.posts")
CLOCK_SKEW = timedelta(minutes=2)
LOOKUP_LIMIT = 50
CREATE_ATTEMPTS = 3


def fingerprint(base_url: str, body: dict[str, Any], mode: str) -> str:
    """Same content, accounts, media and timing give the same fingerprint."""
    return digest(
        {
            "base": base_url,
            "content": body.get("content"),
            "title": body.get("title"),
            "media": body.get("mediaItems"),
            "accounts": sorted(p["accountId"] for p in body["platforms"]),
            "when": str(parse_timestamp(body["scheduledFor"])) if "scheduledFor" in body else mode,
        }
    )


async def create_post_once(
    context: AppContext, body: dict[str, Any], targets: Sequence[Account], mode: str, *, allow_duplicate: bool
) -> tuple[Post, str | None]:
    """Create the post unless an identical one exists or is being created: returns the post and
    "duplicate" (the earlier post, nothing sent), "recovered" (an answer was lost; the post was
    found) or None. Raises InProgress when an identical call is still running at the deadline."""
    client, settings = context.client, context.settings
    print_ = fingerprint(settings.base_url, body, mode)
    if allow_duplicate:  # the user wants it again: no waiting, but later repeats see this post
        post, recovered = await create_once(client, body, targets)
        await _remember(context, print_, post.id)
        return post, "recovered" if recovered else None
    window = timedelta(seconds=settings.duplicate_window)
    async with context.gate.hold(
        "post", print_, tool="posts_create", digest=print_, within=window, take_unknown=True
    ) as ticket:
        while ticket.claim.state == "done":
            earlier = await _still_there(client, ticket.claim.result)
            if earlier is not None:
                return earlier, "duplicate"
            await ticket.reserve(take_unknown=True, forget=ticket.claim.result)  # deleted since
        return await _create_holding(ticket, client, body, targets)


async def _create_holding(
    ticket: Ticket, client: LateClient, body: dict[str, Any], targets: Sequence[Account]
) -> tuple[Post, str | None]:
    """Create while holding the fingerprint; commit the post, or release when nothing was created."""
    try:
        if ticket.claim.suspect:  # an identical call died or lost its answer: did it post?
            since = (parse_timestamp(ticket.claim.at) or datetime.now(UTC)) - CLOCK_SKEW
            found = await find_created(client, body, targets, since)
            if found is not None:
                await _commit(ticket, found.id)
                return found, "recovered"
        post, recovered = await create_once(client, body, targets)
    except LateError as exc:
        try:
            await ticket.release(unknown=outcome_unknown(exc))
        except JournalError as journal_exc:
            log.error("duplicate guard could not release %s: %s", ticket.owner, journal_exc)
        raise
    await _commit(ticket, post.id)
    return post, "recovered" if recovered else None


async def _still_there(client: LateClient, post_id: str | None) -> Post | None:
    """The earlier post, unless it was deleted since (then posting again is what the user asks)."""
    assert post_id is not None
    try:
        return await client.get_post(post_id)
    except NotFoundError:
        return None


async def _commit(ticket: Ticket, post_id: str) -> None:
    """Record the post; the post exists either way, so a journal failure is logged, not raised (the
    journal stays marked broken and the tool result says it could not be recorded)."""
    try:
        await ticket.commit(post_id)
    except JournalError as exc:
        log.error("duplicate guard could not record post %s: %s", post_id, exc)


async def _remember(context: AppContext, print_: str, post_id: str) -> None:
    try:
        await context.gate.store.commit(
            "post", print_, owner=None, tool="posts_create", digest=print_, result=post_id
        )
    except JournalError as exc:
        log.error("duplicate guard could not record post %s: %s", post_id, exc)


async def create_once(
    client: LateClient, body: dict[str, Any], targets: Sequence[Account]
) -> tuple[Post, bool]:
    """Create the post; returns (post, recovered) where recovered means the answer was lost and
    the post was found afterwards. Sends again only after a lookup showed nothing was created."""
    since = datetime.now(UTC) - CLOCK_SKEW
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            return await client.create_post(body), False
        except LateError as exc:
            if not outcome_unknown(exc):
                raise
            log.warning("create answer lost (%s); looking for the post before anything else", exc.kind)
            try:
                found = await find_created(client, body, targets, since)
            except LateError:
                raise exc from None  # cannot tell: never send again blindly
            if found is not None:
                return found, True
            if attempt == CREATE_ATTEMPTS:
                exc.confirmed_not_applied = True
                exc.hint = (
                    f"Checked after {attempt} tries: no post was created. It is safe to try again later."
                )
                raise
            log.info("no post was created; sending the create again")
    raise AssertionError("unreachable")  # pragma: no cover


async def find_created(
    client: LateClient, body: dict[str, Any], targets: Sequence[Account], since: datetime
) -> Post | None:
    profiles = {a.profile_id for a in targets}
    params: dict[str, str | int | None] = {
        "limit": LOOKUP_LIMIT,
        "sortBy": "created-desc",
        "profileId": profiles.pop() if len(profiles) == 1 else None,
    }
    page = await client.list_posts(params)
    accounts = {p["accountId"] for p in body["platforms"]}
    for post in page.posts:
        if post.content != body["content"] or {t.account_id for t in post.platforms} != accounts:
            continue
        if "scheduledFor" in body and parse_timestamp(post.scheduled_for) != parse_timestamp(
            body["scheduledFor"]
        ):
            continue
        created = parse_timestamp(post.created_at)
        if created is not None and created < since:
            continue
        return post
    return None
