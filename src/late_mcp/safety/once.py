"""posts_create sends a post once: the duplicate guard and recovery from lost answers.

Assistants repeat calls (a retried conversation, a client timeout, several at once), and networks
lose answers. Neither may put the same post on someone's timeline twice:
- the duplicate guard reserves the post's fingerprint (text, title, media, accounts, time) before
  sending (in the journal, so it holds across restarts and processes); a repeat waits for the first
  call and answers with its post. What was sent (every field of the request but the zone's name)
  is kept beside it: a repeat that differs there (other custom_content, options, thread parts) is
  not a duplicate but a correction, and gets an answer naming the existing post and how to change
  it (posts_update, or posts_delete and send again), or allow_duplicate=true to post both;
- every send of one create carries the same Idempotency-Key (the reservation's owner, kept when a
  later call takes over the same create), so where Late honours it a resend cannot make a second
  post; where it does not, a lost answer is looked up and reported, and the request is sent again
  only when the lookup shows nothing was created. The same lookup runs before sending when an
  earlier identical call (or the call that held this idempotency_key) died or ended unknown.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from late_mcp.config.settings import Settings
from late_mcp.late.client import LateClient
from late_mcp.late.errors import ConflictError, LateError, NotFoundError, TransportError
from late_mcp.late.models import Account, Post, parse_timestamp
from late_mcp.late.retry import call_time_left, outcome_unknown
from late_mcp.safety.records import JournalError, digest
from late_mcp.safety.reservations import Claim, ReservationDesk, Ticket, held_key

log = logging.getLogger("late_mcp.posts")
CLOCK_SKEW = timedelta(minutes=2)
LOOKUP_LIMIT = 50
CREATE_ATTEMPTS = 3


class AnotherForm(Exception):
    """The same post exists already but was sent in another form; the message names it and how
    to change it (a correction of the caller's arguments, not a duplicate)."""


class StillCreating(TransportError):
    """Late answered 409 to a resend that carries the first send's Idempotency-Key: the first send
    is still being processed, so whether (and which) post it makes is not known yet."""

    kind = "still_processing"


def _timed(body: dict[str, Any], mode: str) -> bool:
    """Whether the post's scheduledFor tells it apart: not for a post "now" (publish_now, or one
    awaiting approval for now, whose scheduledFor is a moment after the call)."""
    return "scheduledFor" in body and mode != "publish_now"


def fingerprint(base_url: str, body: dict[str, Any], mode: str) -> str:
    """Same content, accounts, media and timing give the same fingerprint."""
    return digest(
        {
            "base": base_url,
            "content": body.get("content"),
            "title": body.get("title"),
            "media": body.get("mediaItems"),
            "accounts": sorted(p["accountId"] for p in body["platforms"]),
            "when": str(parse_timestamp(body["scheduledFor"])) if _timed(body, mode) else mode,
        }
    )


def sent_form(base_url: str, body: dict[str, Any], mode: str = "") -> str:
    """A digest of everything that is sent: the whole body but the zone's name (the instant in
    scheduledFor says when; for a post "now" it is left out) and the order of the accounts."""
    wire = {k: v for k, v in body.items() if k != "timezone" and (k != "scheduledFor" or _timed(body, mode))}
    if "scheduledFor" in wire:
        wire["scheduledFor"] = str(parse_timestamp(wire["scheduledFor"]))
    wire["platforms"] = sorted(body["platforms"], key=lambda p: str(p["accountId"]))
    return digest({"base": base_url, "body": wire})


def _stored(post_id: str, form: str) -> str:
    """What the guard keeps for a post: its id and the digest of what was sent for it."""
    return f"{post_id} {form}"


def _parse_stored(result: str | None) -> tuple[str, str | None]:
    assert result is not None
    post_id, _, form = result.partition(" ")
    return post_id, form or None  # kept by an older late-mcp: the id alone


async def create_post_once(
    client: LateClient,
    settings: Settings,
    desk: ReservationDesk,
    body: dict[str, Any],
    targets: Sequence[Account],
    mode: str,
    *,
    allow_duplicate: bool,
) -> tuple[Post, str | None]:
    """Create the post unless an identical one exists or is being created: returns the post and
    "duplicate" (the earlier post, nothing sent), "recovered" (an answer was lost, or an earlier
    call died; the post was found) or None. Raises InProgress when an identical call is still
    running at the deadline, AnotherForm when the same post exists in another form."""
    print_ = fingerprint(settings.base_url, body, mode)
    form = sent_form(settings.base_url, body, mode)
    outer = held_key.get()  # the call's idempotency_key, taken over from a call that died?
    died = outer.claim if outer is not None and outer.claim.suspect else None
    if allow_duplicate:  # the user wants it again: no waiting, but later repeats see this post
        if died is not None:
            found = await find_created(client, body, targets, _since(died.at))
            if found is not None:
                await _remember(desk, print_, _stored(found.id, form))
                return found, "recovered"
        key = outer.owner if outer is not None else uuid.uuid4().hex
        post, recovered = await create_once(client, body, targets, key=key, resent=died is not None)
        await _remember(desk, print_, _stored(post.id, form))
        return post, "recovered" if recovered else None
    window = timedelta(seconds=settings.duplicate_window)
    async with desk.hold(
        "post", print_, tool="posts_create", digest=form, within=window, take_unknown=True
    ) as ticket:
        while ticket.claim.state == "done":
            earlier_id, earlier_form = _parse_stored(ticket.claim.result)
            earlier = await _still_there(client, earlier_id)
            if earlier is not None:
                if earlier_form is not None and earlier_form != form:
                    raise AnotherForm(_another_form(earlier))
                return earlier, "duplicate"
            await ticket.reserve(take_unknown=True, forget=ticket.claim.result)  # deleted since
        return await _create_holding(ticket, client, body, targets, (print_, form), died)


async def _create_holding(
    ticket: Ticket,
    client: LateClient,
    body: dict[str, Any],
    targets: Sequence[Account],
    prints: tuple[str, str],
    died: Claim | None,
) -> tuple[Post, str | None]:
    """Create while holding the fingerprint; commit the post, or release when nothing was created."""
    print_, form = prints
    claim = ticket.claim
    try:
        starts = [c.at for c in (claim, died) if c is not None and c.suspect]
        if starts:  # an identical call died or lost its answer: did it post?
            found = await find_created(client, body, targets, min(_since(at) for at in starts))
            if found is not None:
                # The form the earlier call sent (a fingerprint-only digest: an older late-mcp's).
                earlier = claim.digest if claim.suspect and claim.digest != print_ else form
                await _commit(ticket, _stored(found.id, earlier))
                if earlier != form:
                    raise AnotherForm(_another_form(found))
                return found, "recovered"
        same_write = claim.suspect and claim.digest == form  # its owner, so its Idempotency-Key
        post, recovered = await create_once(
            client, body, targets, key=ticket.owner, resent=same_write or died is not None
        )
    except LateError as exc:
        try:
            await ticket.release(unknown=outcome_unknown(exc))
        except JournalError as journal_exc:
            log.error("duplicate guard could not release %s: %s", ticket.owner, journal_exc)
        raise
    await _commit(ticket, _stored(post.id, form))
    return post, "recovered" if recovered else None


def _since(at: str) -> datetime:
    """From when a post an earlier call may have made can be found (its start, less clock skew)."""
    return (parse_timestamp(at) or datetime.now(UTC)) - CLOCK_SKEW


def _another_form(earlier: Post) -> str:
    """The answer for a post that exists with the same text, accounts and time, sent differently."""
    accounts = ", ".join(sorted({t.account_id or "?" for t in earlier.platforms}))
    text = (
        f"Not sent: post {earlier.id} ({earlier.status}, accounts {accounts}) already has this text, "
        "accounts and time, but was sent with other settings (custom_content, options or thread parts "
        "differ). "
    )
    if earlier.status == "published":
        return text + "It is published; to publish this version as well, repeat with allow_duplicate=true."
    return text + (
        f"To change it instead: posts_update post_id={earlier.id} edits its text, title and time; for "
        "other per-platform text or options, posts_delete it, then repeat this call. To post both, "
        "repeat with allow_duplicate=true."
    )


async def _still_there(client: LateClient, post_id: str) -> Post | None:
    """The earlier post, unless it was deleted since (then posting again is what the user asks)."""
    try:
        return await client.get_post(post_id)
    except NotFoundError:
        return None


async def _commit(ticket: Ticket, stored: str) -> None:
    """Record the post; the post exists either way, so a journal failure is logged, not raised (the
    journal stays marked broken and the tool result says it could not be recorded)."""
    try:
        await ticket.commit(stored)
    except JournalError as exc:
        log.error("duplicate guard could not record post %s: %s", stored.split(" ")[0], exc)


async def _remember(desk: ReservationDesk, print_: str, stored: str) -> None:
    try:
        await desk.store.commit("post", print_, owner=None, tool="posts_create", digest=print_, result=stored)
    except JournalError as exc:
        log.error("duplicate guard could not record post %s: %s", stored.split(" ")[0], exc)


async def create_once(
    client: LateClient, body: dict[str, Any], targets: Sequence[Account], *, key: str, resent: bool = False
) -> tuple[Post, bool]:
    """Create the post; returns (post, recovered) where recovered means the answer was lost and
    the post was found afterwards. Sends again only after a lookup showed nothing was created,
    never after the call's deadline, and always with the same Idempotency-Key (``key``; ``resent``:
    an earlier call may have sent it already)."""
    since = datetime.now(UTC) - CLOCK_SKEW
    idempotency_key = f"late-mcp-{key}"
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            return await client.create_post(body, idempotency_key=idempotency_key), False
        except ConflictError as exc:
            if not (resent or attempt > 1):
                raise
            raise StillCreating(
                "Late is still processing an earlier send of this same post (its Idempotency-Key is "
                "in use), so whether it was created is not known yet.",
                outcome_unknown=True,
                status=exc.status,
                request_id=exc.request_id,
            ) from exc
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
            left = call_time_left()
            if attempt == CREATE_ATTEMPTS:
                raise exc.with_context(
                    confirmed_not_applied=True,
                    hint=f"Checked after {attempt} tries: no post was created. "
                    "It is safe to try again later.",
                ) from exc
            if left is not None and left <= 0:
                raise  # no new send after the call's deadline
            resent = True
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
