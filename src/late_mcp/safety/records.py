"""What every journal backend (SQLite, Redis) shares: the entry, the error, digests and times.

Kept apart from the backends so the reservations protocol can name them without importing one.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

RETENTION = timedelta(days=30)  # idempotency records and post fingerprints
MAX_ENTRIES = 50_000  # journal entries kept; the oldest above this are pruned
SUMMARY_MAX = 200
RECOVER_FIRST = 1.0  # seconds after a failure before the journal tries its test write again
RECOVER_MAX = 30.0  # the longest wait between two tries


class JournalError(Exception):
    """The journal could not be opened, read or written; the message names the file and the fix."""

    def again(self) -> JournalError:
        """This refusal as a new error for the next call, to raise `from` this one (one stored
        error raised on every call would be changed by each raise: its traceback grows)."""
        return JournalError(*self.args)


class Backoff:
    """When a broken journal may try its test write again: after RECOVER_FIRST seconds, then
    twice as long after each failed try, up to RECOVER_MAX."""

    def __init__(self) -> None:
        self._wait = RECOVER_FIRST
        self._next = 0.0

    def failed(self) -> None:
        self._next = time.monotonic() + self._wait
        self._wait = min(self._wait * 2, RECOVER_MAX)

    def due(self) -> bool:
        return time.monotonic() >= self._next

    def reset(self) -> None:
        self._wait, self._next = RECOVER_FIRST, 0.0


def digest(value: object) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value`` (key order does not matter)."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class JournalEntry:
    """One write late-mcp performed (or tried to): never the content, only its digest."""

    id: int
    at: str
    tool: str
    targets: list[str]
    digest: str
    outcome: str
    request_id: str | None
    summary: str | None
    caller: str | None = None  # who made it (late_mcp.auth.principal.caller_id); None: not recorded


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC, seconds precision; a naive datetime is taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def flat_summary(summary: str | None) -> str | None:
    """A result's summary as one line of at most 200 characters."""
    if summary is None:
        return None
    summary = " ".join(summary.split())
    return summary if len(summary) <= SUMMARY_MAX else summary[: SUMMARY_MAX - 1] + "…"
