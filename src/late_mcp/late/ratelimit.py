"""Stay under Late's per-minute rate limit using the headers Late sends with every answer.

A burst of tool calls then slows down instead of running into 429s: when Late says no requests
are left in this window, the next request waits for the reset instead of being refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Protocol

import anyio

MAX_WAIT = 65.0  # a window is one minute; never wait longer on a header's word


class SharedBudget(Protocol):
    """The window shared with other replicas (late_mcp.late.redis_budget.RedisRateBudget)."""

    async def take(self) -> float:
        """Count one request against the shared window; seconds to wait first (0: go now)."""
        ...

    async def learn(self, remaining: int, reset_at: float | None) -> None:
        """What Late said is left, and when the window resets (epoch seconds)."""
        ...

    async def aclose(self) -> None: ...


class RateLimiter:
    """Paces this process's Late requests by Late's rate-limit headers (and, with a shared budget,
    every replica's)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        shared: SharedBudget | None = None,
    ) -> None:
        self.shared = shared
        self._clock = clock
        self._wall = wall
        self._remaining: int | None = None
        self._open_at = 0.0  # monotonic time before which nothing is sent
        self._lock = anyio.Lock()
        self.waited = 0.0  # seconds spent waiting, for benchmarks and logs

    async def acquire(self) -> None:
        """Wait until a request may be sent, and count it against what is left."""
        async with self._lock:
            now = self._clock()
            if self._remaining is not None and self._remaining <= 0 and self._open_at <= now:
                self._remaining = None  # the window we knew about has passed
            delay = self._open_at - now
            if delay > 0:
                self.waited += delay
                await anyio.sleep(delay)
                self._remaining = None
            if self._remaining is not None:
                self._remaining -= 1
        if self.shared is not None:
            wait = min(await self.shared.take(), MAX_WAIT)
            if wait > 0:
                self.waited += wait
                await anyio.sleep(wait)

    async def share(self, headers: Mapping[str, str]) -> None:
        """Tell the other replicas what Late said is left in the window."""
        remaining = _int(headers.get("X-RateLimit-Remaining"))
        if self.shared is not None and remaining is not None:
            reset = _int(headers.get("X-RateLimit-Reset"))
            await self.shared.learn(remaining, float(reset) if reset is not None else None)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn from an answer's X-RateLimit-Remaining / X-RateLimit-Reset headers."""
        remaining = _int(headers.get("X-RateLimit-Remaining"))
        if remaining is None:
            return
        self._remaining = remaining
        reset = _int(headers.get("X-RateLimit-Reset"))
        if remaining <= 0 and reset is not None:  # without a reset time, a 429's Retry-After decides
            self.block_for(reset - self._wall())

    def block_for(self, seconds: float) -> None:
        """Send nothing for `seconds` (e.g. a 429's Retry-After)."""
        until = self._clock() + min(max(seconds, 0.0), MAX_WAIT)
        self._open_at = max(self._open_at, until)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
