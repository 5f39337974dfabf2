"""Exactly once, even when identical calls race: reserve a key before sending, then commit or release.

A store (:class:`Reservations`) decides atomically who may go ahead: the SQLite journal for one
machine (``late_mcp.journal.Journal``), Redis for replicas (``late_mcp.redis_journal``). :class:`Gate`
adds what every store needs on top: one in-process lock per key (so calls in this process queue
instead of polling), waiting for a call that holds the key elsewhere, and the call's deadline.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

import anyio

from late_mcp.late.retry import call_time_left

if TYPE_CHECKING:
    from late_mcp.journal import JournalEntry, JournalError

log = logging.getLogger("late_mcp.reservations")
Scope = Literal["idempotency", "post"]
ClaimState = Literal["mine", "done", "busy", "unknown"]
POLL_FIRST = 0.02
POLL_MAX = 0.5


@dataclass(frozen=True)
class Claim:
    """What :meth:`Reservations.reserve` found.

    ``mine``: this call holds the key and must commit or release it. ``suspect`` means it was
    taken over from a call that died or whose outcome is unknown (at ``at``): check before sending.
    ``done``: an earlier call finished with ``result`` at ``at``. ``busy``: a live call holds it.
    ``unknown``: an earlier call's outcome is unknown. ``tool``/``digest`` say what that call was.
    """

    state: ClaimState
    tool: str
    digest: str
    result: str | None
    at: str
    suspect: bool = False


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
        ``take_unknown``); else hold the key for ``owner`` for ``ttl`` seconds → mine.
        ``forget`` first drops a stored result that turned out to be gone."""
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
    (``late_mcp.journal.Journal``) or in Redis (``late_mcp.redis_journal.RedisJournal``)."""

    @property
    def where(self) -> str:
        """Where it lives, for people: a file, "(in memory)" or a Redis URL without password."""
        ...

    @property
    def failure(self) -> JournalError | None:
        """The error that broke it, if one did: writes are refused while it is set."""
        ...

    async def check(self) -> None: ...

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
    """One call's hold on a key: read :attr:`claim`; when it is ``mine``, commit or release it."""

    def __init__(self, gate: Gate, scope: Scope, key: str, tool: str, digest: str, within: timedelta) -> None:
        self._gate, self._scope, self._key = gate, scope, key
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
            self.claim = await self._gate.store.reserve(
                self._scope,
                self._key,
                owner=self.owner,
                tool=self._tool,
                digest=self._digest,
                ttl=self._gate.ttl,
                within=self._within,
                take_unknown=take_unknown,
                forget=forget,
            )
            forget = None
            if self.claim.state != "busy" or self.claim.digest != self._digest:
                return self.claim
            left = _time_left(self._gate.ttl)
            if left <= 0:
                raise InProgress(self._tool)
            await anyio.sleep(min(delay, left))
            delay = min(delay * 2, POLL_MAX)

    async def commit(self, result: str) -> None:
        assert self.holding, "commit without holding the key"
        self.claim = Claim("done", self._tool, self._digest, result, "")
        await self._gate.store.commit(
            self._scope, self._key, owner=self.owner, tool=self._tool, digest=self._digest, result=result
        )

    async def release(self, *, unknown: bool) -> None:
        if not self.holding:
            return
        self.claim = Claim("unknown" if unknown else "busy", self._tool, self._digest, None, "")
        await self._gate.store.release(self._scope, self._key, owner=self.owner, unknown=unknown)


class Gate:
    """Exactly-once access to keys of one store, for the lifetime of a server."""

    def __init__(self, store: Reservations, *, ttl: float) -> None:
        self.store = store
        self.ttl = ttl  # a reservation outlives its call by no more than this (the call deadline)
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


def _time_left(default: float) -> float:
    left = call_time_left()
    return default if left is None else left
