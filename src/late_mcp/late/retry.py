"""When a failed request is sent again, and how long to wait before it.

Reads survive transient faults: GET (and DELETE, whose repeat is harmless) are retried on 429,
5xx, dropped connections, timeouts and garbled answers, with capped exponential backoff and
jitter, honouring Retry-After, within one deadline per tool call. Writes are sent again only
when Late certainly did not act on them (429, or the connection was never made).

The strategies are built once (per client: `RetryPolicy.stop`, `backoff`; per module:
`SEND_AGAIN_IF_IDEMPOTENT`, `SEND_AGAIN_IF_WRITE`); what differs per call, when it started and the
tool call's deadline, is read from the retry state and the context variable.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from tenacity import RetryCallState, retry_if_exception, stop_after_attempt, stop_any
from tenacity.stop import stop_base
from tenacity.wait import wait_random_exponential

from late_mcp.late.errors import (
    LateError,
    MalformedResponseError,
    RateLimitedError,
    ServerError,
    TransportError,
)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "DELETE"})
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})

# The monotonic time by which the current tool call must be done, if any.
_call_deadline: ContextVar[float | None] = ContextVar("late_call_deadline", default=None)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 8.0
    deadline: float = 60.0

    def backoff(self, state: RetryCallState) -> float:
        """Retry-After when Late gave one, else capped exponential backoff with full jitter."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            return exc.retry_after
        wait = wait_random_exponential(multiplier=self.base_delay, max=self.max_delay)
        return float(wait(state))

    def time_left(self, started: float) -> float:
        left = self.deadline - (time.monotonic() - started)
        deadline = _call_deadline.get()
        if deadline is not None:
            left = min(left, deadline - time.monotonic())
        return left

    def stop(self) -> stop_base:
        """Stop after `attempts` sends, or before a wait that would end past the deadline."""
        return stop_any(stop_after_attempt(self.attempts), OutOfTime(self))


class OutOfTime(stop_base):
    """Stop before a wait that would end after the request's deadline or the tool call's."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.upcoming_sleep >= self.policy.time_left(retry_state.start_time)


def may_retry(exc: BaseException, *, idempotent: bool) -> bool:
    """Whether sending the same request again is safe and may help."""
    if isinstance(exc, RateLimitedError):
        return True  # refused, so not applied
    if isinstance(exc, TransportError):
        return idempotent or not exc.outcome_unknown
    if isinstance(exc, ServerError):
        return idempotent and exc.status in RETRYABLE_STATUSES
    if isinstance(exc, MalformedResponseError):
        return idempotent
    return False


SEND_AGAIN_IF_IDEMPOTENT = retry_if_exception(functools.partial(may_retry, idempotent=True))
SEND_AGAIN_IF_WRITE = retry_if_exception(functools.partial(may_retry, idempotent=False))


def outcome_unknown(exc: LateError) -> bool:
    """A write that failed this way may still have been applied by Late."""
    if exc.confirmed_not_applied:
        return False
    if isinstance(exc, TransportError):
        return exc.outcome_unknown
    return isinstance(exc, MalformedResponseError | ServerError)


def call_time_left() -> float | None:
    """Seconds left before the current tool call's deadline, or None outside a tool call."""
    deadline = _call_deadline.get()
    return None if deadline is None else deadline - time.monotonic()


@contextmanager
def call_deadline(seconds: float) -> Iterator[None]:
    """Bound every retry loop inside the block (one tool call) by one overall deadline."""
    token = _call_deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _call_deadline.reset(token)
