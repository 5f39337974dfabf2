"""posts_create sends a post once: the duplicate guard and recovery from lost answers.

Assistants repeat calls (a retried conversation, a client timeout), and networks lose answers.
Neither may put the same post on someone's timeline twice:
- the duplicate guard remembers what was created (in the journal, so it survives restarts) and
  answers a repeat within the window with the earlier post;
- when the answer to a create is lost, the post Late may have made is looked up and reported;
  the request is sent again only when the lookup shows nothing was created.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from late_mcp.journal import Journal, JournalError, digest
from late_mcp.late.client import LateClient
from late_mcp.late.errors import LateError, NotFoundError
from late_mcp.late.models import Account, Post, parse_timestamp
from late_mcp.late.retry import outcome_unknown

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


async def earlier_post(journal: Journal, client: LateClient, print_: str, window: float) -> Post | None:
    """The post this fingerprint already created within the window, if it still exists."""
    try:
        found = await journal.find_post(print_, within=timedelta(seconds=window))
    except JournalError as exc:
        log.warning("duplicate guard unavailable: %s", exc)
        return None
    if found is None:
        return None
    try:
        return await client.get_post(found[0])
    except NotFoundError:
        return None  # deleted since: posting again is what the user asks for


async def remember(journal: Journal, print_: str, post_id: str) -> None:
    try:
        await journal.remember_post(print_, post_id)
    except JournalError as exc:
        log.warning("duplicate guard could not remember post %s: %s", post_id, exc)


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
