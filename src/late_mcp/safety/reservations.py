"""Exactly once, even when identical calls race: reserve a key before sending, then commit or release.

A store (:class:`Reservations`) decides atomically who may go ahead: the SQLite journal for one
machine (``late_mcp.safety.sqlite_journal.Journal``), Redis for replicas
(``late_mcp.safety.redis_journal``). :class:`ReservationDesk` adds what every store needs on top: one
in-process lock per key (so calls in this process queue instead of polling), waiting for a call
that holds the key elsewhere, and the call's deadline.

A reservation outlives the call that holds it: it lasts the call's deadline plus a margin
(:func:`reservation_ttl`), and every write ends at its deadline (``safety.idempotency``), so a live call
is never taken over. A reservation that expired (its process died) or whose call ended with an
unknown outcome is taken over *suspect*: the write may have reached Late, so it is looked up or
refused, never sent again blindly. Taking over the same write (same tool and digest) keeps the
earlier holder's ``owner``, so a resend carries the same ``Idempotency-Key`` as the first send.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

import anyio

from late_mcp.late.retry import call_time_left

if TYPE_CHECKING:
    from late_mcp.safety.records import JournalEntry, JournalError

log = logging.getLogger("late_mcp.reservations")
Scope = Literal["idempotency", "post"]
ClaimState = Literal["mine", "done", "busy", "unknown"]
POLL_FIRST = 0.02
POLL_MAX = 0.5
HARD_STOP_AFTER = 1.0  # seconds past its deadline a write is stopped (its own checks stop it first)
MARGIN_MAX = 15.0  # seconds a reservation outlives the hard stop of its call, at most


def reservation_ttl(call_deadline: float) -> float:
    """How long a reservation lasts: past the hard stop of its call (its deadline plus
    :data:`HARD_STOP_AFTER`), by a margin for recording the outcome (as long as the deadline, at
    most :data:`MARGIN_MAX`), so it never expires while its call runs."""
    return call_deadline + HARD_STOP_AFTER + min(call_deadline, MARGIN_MAX)


@dataclass(frozen=True)
class Claim:
    """What :meth:`Reservations.reserve` found.

    ``mine``: this call holds the key under ``owner`` and must commit or release it. ``suspect``
    means it was taken over from a call that died or whose outcome is unknown, begun at ``at``:
    that call may have reached Late, so check before sending; ``tool``/``digest`` then say what
    that call was, and ``owner`` is the earlier call's when it was the same write.
    ``done``: an earlier call finished with ``result`` at ``at``. ``busy``: a live call holds it.
    ``unknown``: an earlier call's outcome is unknown. ``tool``/``digest`` say what that call was.
    """

    state: ClaimState
    tool: str
    digest: str
    result: str | None
    at: str
    suspect: bool = False
    owner: str = ""


class Reservations(Protocol):
    """An atomic reservation store shared by every process that may send the same write."""

    async def reserve(
        self,
        scope: Scope,
        key: str,
        *,
        owner: str,
        tool: str,
        digest: str,
        ttl: float,
        within: timedelta,
        take_unknown: bool = False,
        forget: str | None = None,
    ) -> Claim:
        """Atomically: a live reservation of another owner → busy; a result younger than
        ``within`` → done; an unknown outcome → unknown (or taken over, suspect, when
        ``take_unknown``); else hold the key for ``ttl`` seconds → mine. A reservation taken over
        from the same write (same tool and digest) keeps its owner and start time; the claim
        names the owner to commit or release with. ``forget`` first drops a stored result that
        turned out to be gone."""
        ...

    async def commit(
        self, scope: Scope, key: str, *, owner: str | None, tool: str, digest: str, result: str
    ) -> None:
        """Store ``result`` and end ``owner``'s reservation (``owner=None``: store only)."""
        ...

    async def release(self, scope: Scope, key: str, *, owner: str, unknown: bool = False) -> None:
        """End ``owner``'s reservation; ``unknown`` keeps a marker so the next call checks first."""
        ...


class JournalStore(Reservations, Protocol):
    """The journal a server writes to: the audit log plus the reservations, in SQLite
    (``late_mcp.safety.sqlite_journal.Journal``) or in Redis
    (``late_mcp.safety.redis_journal.RedisJournal``)."""

    @property
    def where(self) -> str:
        """Where it lives, for people: a file, "(in memory)" or a Redis URL without password."""
        ...

    @property
    def failure(self) -> JournalError | None:
        """The error that broke it, if one did: writes are refused while it is set."""
        ...

    async def check(self) -> None: ...

    async def recover(self) -> JournalError | None:
        """The error that still stands, if any: a broken journal tries its test write again here
        (at most once per backoff interval), and works again once it passes."""
        ...

    async def record(
        self,
        *,
        tool: str,
        targets: Sequence[str],
        digest: str,
        outcome: str,
        request_id: str | None = None,
        summary: str | None = None,
        caller: str | None = None,
    ) -> JournalEntry: ...

    async def recent(
        self,
        *,
        since: datetime | None = None,
        tool: str | None = None,
        limit: int = 50,
        caller: str | None = None,
    ) -> list[JournalEntry]: ...

    async def aclose(self) -> None: ...


class InProgress(Exception):
    """Another identical call holds the key and did not finish within this call's deadline."""

    def __init__(self, tool: str) -> None:
        super().__init__(
            f"Another identical {tool} call is running right now, so this one was not sent. "
            "Wait a minute, then repeat the call: it will return the first call's result instead of "
            "sending again (or check with journal_recent / a list tool)."
        )


class Ticket:
    """One call's hold on a key: read :attr:`claim`; when it is ``mine``, commit or release it.

    :attr:`owner` names this write at Late too (the ``Idempotency-Key`` of a create): it is the
    earlier holder's after taking over the same write, so every resend of it carries one key."""

    def __init__(
        self, desk: ReservationDesk, scope: Scope, key: str, tool: str, digest: str, within: timedelta
    ) -> None:
        self._desk, self._scope, self._key = desk, scope, key
        self._tool, self._digest, self._within = tool, digest, within
        self.owner = uuid.uuid4().hex
        self.claim = Claim("busy", tool, digest, None, "")

    @property
    def holding(self) -> bool:
        return self.claim.state == "mine"

    async def reserve(self, *, take_unknown: bool = False, forget: str | None = None) -> Claim:
        """Reserve, waiting while another live call holds the key; :class:`InProgress` at the deadline."""
        delay = POLL_FIRST
        while True:
            self.claim = await self._desk.store.reserve(
                self._scope,
                self._key,
                owner=self.owner,
                tool=self._tool,
                digest=self._digest,
                ttl=self._desk.ttl,
                within=self._within,
                take_unknown=take_unknown,
                forget=forget,
            )
            forget = None
            if self.claim.state == "mine":
                self.owner = self.claim.owner or self.owner
                return self.claim
            # An idempotency key held for other arguments is refused at once; a post fingerprint
            # held by another form of the same post is waited for, then compared.
            other = self._scope == "idempotency" and self.claim.digest != self._digest
            if self.claim.state != "busy" or other:
                return self.claim
            left = _time_left(self._desk.ttl)
            if left <= 0:
                raise InProgress(self._tool)
            await anyio.sleep(min(delay, left))
            delay = min(delay * 2, POLL_MAX)

    async def commit(self, result: str) -> None:
        """Store the result; the key counts as done only once the store has it (a failed commit
        leaves it held, so the desk marks it 'outcome unknown' or it expires suspect)."""
        assert self.holding, "commit without holding the key"
        await self._desk.store.commit(
            self._scope, self._key, owner=self.owner, tool=self._tool, digest=self._digest, result=result
        )
        self.claim = Claim("done", self._tool, self._digest, result, "")

    async def release(self, *, unknown: bool) -> None:
        if not self.holding:
            return
        self.claim = Claim("unknown" if unknown else "busy", self._tool, self._digest, None, "")
        await self._desk.store.release(self._scope, self._key, owner=self.owner, unknown=unknown)


class ReservationDesk:
    """Exactly-once access to keys of one store, for the lifetime of a server."""

    def __init__(self, store: Reservations, *, call_deadline: float) -> None:
        self.store = store
        self.ttl = reservation_ttl(call_deadline)  # longer than any call holding a reservation
        self._locks: dict[tuple[Scope, str], tuple[anyio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(
        self,
        scope: Scope,
        key: str,
        *,
        tool: str,
        digest: str,
        within: timedelta,
        take_unknown: bool = False,
    ) -> AsyncIterator[Ticket]:
        """Queue behind identical calls in this process, then reserve. A ticket still held when
        the block ends (an exception, a cancellation) is kept as 'outcome unknown'."""
        ticket = Ticket(self, scope, key, tool, digest, within)
        lock = self._enter(scope, key)
        try:
            acquired = False
            with anyio.move_on_after(_time_left(self.ttl)):
                await lock.acquire()
                acquired = True
            if not acquired:
                raise InProgress(tool)
            try:
                await ticket.reserve(take_unknown=take_unknown)
                yield ticket
            finally:
                try:
                    if ticket.holding:
                        with anyio.CancelScope(shield=True):
                            await ticket.release(unknown=True)
                except Exception as exc:  # the error that ended the block matters more
                    log.error("could not mark %s %s as unknown: %s", scope, key[:24], exc)
                finally:
                    lock.release()
        finally:
            self._leave(scope, key)

    def _enter(self, scope: Scope, key: str) -> anyio.Lock:
        lock, users = self._locks.get((scope, key), (anyio.Lock(), 0))
        self._locks[(scope, key)] = (lock, users + 1)
        return lock

    def _leave(self, scope: Scope, key: str) -> None:
        lock, users = self._locks[(scope, key)]
        if users <= 1:
            del self._locks[(scope, key)]
        else:
            self._locks[(scope, key)] = (lock, users - 1)


# The idempotency-key ticket the current write call holds (set by safety.idempotency.guarded_write), so
# posts_create can look up what a call it took over may have created, and reuse its owner.
held_key: ContextVar[Ticket | None] = ContextVar("late_held_key", default=None)


def _time_left(default: float) -> float:
    left = call_time_left()
    return default if left is None else left
