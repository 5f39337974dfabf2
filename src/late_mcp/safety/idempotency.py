"""Write safety around every tool that changes something: idempotency keys and the audit journal.

A write tool gets an optional `idempotency_key` argument: the same key with the same arguments
returns the first outcome without sending anything; the same key with other arguments is
refused. Keys are the caller's own (`late_mcp.auth.principal.caller_id`): another caller's identical
key is another key, and a replay also needs the caller's scope to cover the first call's
(`late_mcp.safety.replay`, which also says what of an answer is kept: no links, tokens or text).
The key is reserved before anything is sent, so identical calls racing each other send once:
the others wait and get the replay. A key whose first call ended with an unknown outcome is
refused (check first, then use a new key). Every write is journaled (time, tool, target ids,
argument digest, outcome, request id); the content itself and the API key never are.

Writes need a working journal (it is the net against duplicates): every write reserves a key in
it before anything is sent (its idempotency key, else one of its own), so while the journal cannot
be written every write is refused unsent; it recovers by itself once it can (``recover``). A write
that was sent is always reported, even if it cannot be recorded.

Each write ends at its call deadline (LATE_CALL_DEADLINE), retries included, with "outcome
unknown" if something was sent; its reservation lasts longer than that, so a live call is never
taken over. A key whose call died is taken over *suspect*: posts_create looks the post up before
sending (``safety.once``); every other write is refused unsent, with the list tool that shows whether
the first call happened.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent
from pydantic import Field, TypeAdapter

from late_mcp.auth.principal import caller_id
from late_mcp.late.retry import call_time_left
from late_mcp.safety.confirm import changed_nothing
from late_mcp.safety.records import RETENTION, JournalError, digest
from late_mcp.safety.replay import entry_summary, replay, stored
from late_mcp.safety.reservations import (
    HARD_STOP_AFTER,
    Claim,
    InProgress,
    JournalStore,
    ReservationDesk,
    Ticket,
    held_key,
)

log = logging.getLogger("late_mcp.journal")
IdempotencyKey = Annotated[
    str | None,
    # No description: the name says it all (a standard concept, like page and limit), and the
    # 50 bytes it would cost repeat on every write tool in tools/list.
    Field(
        min_length=8,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:-]+$",
    ),
]
ID_KEYS = ("id", "profile_id", "account_id", "post_id", "invite_id", "deleted", "revoked", "disconnected")
# Writes that look up at Late what an earlier call they take over may have made (safety.once).
LOOKED_UP = frozenset({"posts_create"})
# Where to see whether a write that may have reached Late happened.
CHECK_WITH = {
    "posts_update": "posts_get",
    "posts_delete": "posts_get",
    "posts_retry": "posts_get",
    "posts_review": "posts_get",
    "comments_reply": "comments_list",
    "comments_hide": "comments_list",
    "invites_create": "invites_list",
    "invites_revoke": "invites_list",
    "profiles_create": "profiles_list",
    "profiles_update": "profiles_get",
    "profiles_delete": "profiles_list",
    "accounts_disconnect": "accounts_list",
    "queue_slots_set": "queue_slots_get",
}
_PLAIN: TypeAdapter[Any] = TypeAdapter(Any)


def target_ids(*sources: Any, depth: int = 0) -> list[str]:
    """Ids a write touched, found in its arguments and its structured result."""
    found: list[str] = []
    for source in sources:
        if isinstance(source, dict) and depth < 4:
            for key, value in source.items():
                if key in ID_KEYS and isinstance(value, str):
                    found.append(value)
                elif isinstance(value, dict | list):
                    found.extend(target_ids(value, depth=depth + 1))
        elif isinstance(source, list) and depth < 4:
            found.extend(target_ids(*source[:50], depth=depth + 1))
    return list(dict.fromkeys(found))


def outcome_of(result: CallToolResult) -> str:
    if not result.is_error:
        return "ok"
    detail = (result.structured_content or {}).get("error", {})
    return "unknown" if detail.get("outcome_unknown") else f"error:{detail.get('kind', 'unknown')}"


async def guarded_write(
    name: str,
    journal: JournalStore,
    desk: ReservationDesk,
    request_id: Callable[[], str | None],
    call: Callable[[], Awaitable[CallToolResult]],
    arguments: dict[str, Any],
    key: str | None,
) -> CallToolResult:
    """Run one write tool call with its idempotency key honoured and its outcome journaled."""
    failure = await journal.recover()
    if failure is not None:
        return journal_unavailable(failure)
    args_digest = digest({"tool": name, "arguments": arguments})
    # A write without a key still reserves one of its own: nothing is sent unless the journal
    # took that write, and nothing is kept for it afterwards.
    held = caller_key(key) if key is not None else f"call:{uuid.uuid4().hex}"
    within = RETENTION if key is not None else timedelta(0)
    take_unknown = key is not None and name in LOOKED_UP  # it looks up what the earlier call did
    try:
        async with desk.hold(
            "idempotency", held, tool=name, digest=args_digest, within=within, take_unknown=take_unknown
        ) as ticket:
            if not ticket.holding:
                assert key is not None, "a call's own key is never taken"
                return _answer_for_key(key, name, args_digest, ticket, arguments)
            if ticket.claim.suspect and (name not in LOOKED_UP or ticket.claim.digest != args_digest):
                assert key is not None, "a call's own key is never taken over"
                return _taken_over(key, name, args_digest, ticket.claim)  # stays 'outcome unknown'
            token = held_key.set(ticket)
            try:
                result = await _until_deadline(name, call, request_id)
            finally:
                held_key.reset(token)
            try:
                if key is None or changed_nothing(result) or _refused_before_sending(result):
                    await ticket.release(unknown=False)  # the key stays free for the real call
                elif result.is_error:
                    await ticket.release(unknown=outcome_of(result) == "unknown")
                else:
                    await ticket.commit(stored(result, arguments))
            except JournalError:
                pass  # journal.failure is set now: _journaled says so in the result
            return await _journaled(name, journal, request_id, result, arguments, args_digest)
    except InProgress as exc:
        return _refused(str(exc), kind="in_progress", retryable=True)
    except JournalError as exc:  # only before sending: reserving failed
        return journal_unavailable(exc)


async def _until_deadline(
    name: str, call: Callable[[], Awaitable[CallToolResult]], request_id: Callable[[], str | None]
) -> CallToolResult:
    """The call, stopped at the call's deadline (retries included) if its own checks (no retry
    after the deadline, no waiting past it) have not ended it: it never outlives its reservation."""
    left = call_time_left()
    if left is None:
        return await call()
    with anyio.move_on_after(max(left, 0.0) + HARD_STOP_AFTER):
        return await call()
    if request_id() is None:  # stopped before anything was sent
        return _refused(
            f"Nothing was sent: {name} ran out of time (LATE_CALL_DEADLINE) before sending. Repeat the call.",
            kind="deadline",
            retryable=True,
        )
    log.warning("%s stopped at its deadline with a request sent and no answer", name)
    return CallToolResult(
        content=[
            TextContent(
                type="text",
                text=(
                    f"{name} was stopped at its deadline (LATE_CALL_DEADLINE) while Late had not "
                    "answered, so the change may have been applied. Check with "
                    f"{CHECK_WITH.get(name, 'posts_list, journal_recent or a list tool')} before trying "
                    "again; do not repeat it blindly."
                ),
            )
        ],
        structured_content={"error": {"kind": "timeout", "retryable": False, "outcome_unknown": True}},
        is_error=True,
    )


def _taken_over(key: str, name: str, args_digest: str, claim: Claim) -> CallToolResult:
    """The refusal for a key whose earlier call died: it may have reached Late."""
    if (claim.tool, claim.digest) != (name, args_digest):
        return _refused(
            f"idempotency_key {key!r} was used on {claim.at} for {claim.tool} with other arguments, "
            "and that call never finished. Nothing was sent now. Use a new key for a new write."
        )
    check = CHECK_WITH.get(name, "journal_recent or a list tool")
    return _refused(
        f"Not sent: an earlier {name} call with idempotency_key {key!r} began on {claim.at} and never "
        "finished (its server stopped before recording the outcome), so it may have reached Late. "
        f"Check with {check} whether it happened; if it is missing, repeat with a new idempotency_key."
    )


def _refused_before_sending(result: CallToolResult) -> bool:
    kind = (result.structured_content or {}).get("error", {}).get("kind")
    return kind in {"invalid_argument", "journal_unavailable", "in_progress", "confirmation", "deadline"}


def _answer_for_key(
    key: str, name: str, args_digest: str, ticket: Ticket, arguments: dict[str, Any]
) -> CallToolResult:
    """What a call gets when its key is already taken: the replay, or why not."""
    claim = ticket.claim
    if claim.tool != name or claim.digest != args_digest:
        return _refused(
            f"idempotency_key {key!r} was already used on {claim.at} for {claim.tool} with "
            "other arguments. Use a new key for a new write."
        )
    if claim.state == "unknown" or claim.result is None:
        return _refused(
            f"idempotency_key {key!r} was used on {claim.at} by a {name} call whose outcome is unknown "
            "(no answer arrived), so nothing was sent now. Check with journal_recent or a list/get tool "
            "whether it happened; if not, use a new key."
        )
    replayed = replay(claim.result, name, arguments, claim.at)
    if replayed is None:  # the caller's scope was narrowed since: the answer may show other profiles
        return _refused(
            f"idempotency_key {key!r} first ran when this access token could reach more profiles than it "
            "can now, so its answer is not replayed and nothing was sent. Use a new key."
        )
    return replayed


async def _journaled(
    name: str,
    journal: JournalStore,
    request_id: Callable[[], str | None],
    result: CallToolResult,
    arguments: dict[str, Any],
    args_digest: str,
) -> CallToolResult:
    """Record the outcome; a write that cannot be recorded is still reported, with a note."""
    if changed_nothing(result) or _refused_before_sending(result):
        return result  # previewed, or refused before anything was sent: nothing to journal
    try:
        if (failure := journal.failure) is not None:  # broke during the call (the duplicate guard's commit)
            raise failure.again() from failure
        await journal.record(
            tool=name,
            targets=target_ids(arguments, result.structured_content),
            digest=args_digest,
            outcome=outcome_of(result),
            request_id=request_id(),
            summary=entry_summary(result),
            caller=caller_id(),
        )
    except JournalError as exc:
        return _unrecorded(result, exc)
    return result


def _unrecorded(result: CallToolResult, exc: JournalError) -> CallToolResult:
    log.error("journal: %s", exc)
    note = (
        "Note: the write below was sent, but the journal could not record it, so the duplicate guard "
        f"and journal_recent will not know about it ({exc}). Further writes are refused until the "
        "journal works."
    )
    return result.model_copy(update={"content": [TextContent(type="text", text=note), *result.content]})


def journal_unavailable(exc: JournalError) -> CallToolResult:
    """The refusal every write gets while the journal does not work; nothing was sent."""
    return _refused(
        "Refused, nothing was sent: the journal is the safety net against duplicate posts, and writes "
        "are refused until it works. They resume by themselves once it can be written again (free "
        "disk space, fix its permissions, bring Redis back); or set LATE_JOURNAL_PATH to a writable "
        f"file and restart late-mcp. ({exc})",
        kind="journal_unavailable",
    )


def _refused(message: str, *, kind: str = "idempotency", retryable: bool = False) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=message)],
        structured_content={"error": {"kind": kind, "retryable": retryable}},
        is_error=True,
    )


def caller_key(key: str) -> str:
    """An idempotency key as stored: in the caller's own namespace, so the same key sent by another
    caller is another key (it finds nothing, and learns nothing, of this caller's call)."""
    return f"{caller_id()}:{key}"


def confirm_key(token: str) -> str:
    """The run-once key of a confirmed call (namespaced by caller like any key); the journal
    keeps a digest of the token, not the token."""
    return "confirm:" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def call_arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
    """What identifies a call: its arguments without the context, the idempotency key and the
    confirmation token (a confirmed call is the same call as its preview)."""
    return {
        k: _PLAIN.dump_python(v, mode="json")  # lists of small models (queue slots) become plain JSON
        for k, v in kwargs.items()
        if not isinstance(v, Context) and k not in {"idempotency_key", "confirm"}
    }
