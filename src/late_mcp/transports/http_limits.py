"""Wrong tokens per client address, for the HTTP guard (late_mcp.transports.http_app). Plain bookkeeping,
decided without awaiting anything, so requests that race on the event loop see one count.

At most ALLOWED_FAILURES wrong tokens per address (an IPv6 address counts by its /64) are even
checked within FAILURE_WINDOW seconds; reaching that blocks the address with 429 for
BLOCK_SECONDS, doubling with every further block up to MAX_BLOCK_SECONDS. A block is answered
without looking at the token at all, so guessing is bounded whatever the token. Each distinct
token whose check is still running counts against the allowance, so a burst of parallel guesses
is bounded too, while a burst of requests with one token counts once, and a token that already
succeeded here not at all. A success never clears a block or the count. Memory is bounded
(least recently seen addresses are forgotten first).

The client address is uvicorn's: the peer, or the X-Forwarded-For of a proxy uvicorn trusts
(FORWARDED_ALLOW_IPS, loopback by default).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

ALLOWED_FAILURES = 10
FAILURE_WINDOW = 60.0
BLOCK_SECONDS = 60.0
MAX_BLOCK_SECONDS = 3600.0
FORGET_AFTER = 3600.0  # an address quiet this long starts afresh
MAX_ADDRESSES = 10_000
MAX_KNOWN_GOOD = 4096

Clock = Callable[[], float]


def address_key(client: object) -> str:
    """The bucket a client address counts in: the address itself, or its /64 for IPv6."""
    host = client[0] if isinstance(client, tuple | list) and client else None
    if not isinstance(host, str):
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6 and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address.ipv4_mapped or address) if address.version == 6 else str(address)


@dataclass
class _Address:
    failures: deque[float] = field(default_factory=lambda: deque(maxlen=ALLOWED_FAILURES))
    checking: dict[str, int] = field(default_factory=dict)  # digest -> requests checking it now
    blocked_until: float = 0.0
    blocks: int = 0
    last_failure: float = 0.0


@dataclass(frozen=True)
class Check:
    """Leave to check one token from one address; `settle` it with the answer."""

    address: str
    digest: str
    counted: bool  # counts against the allowance while it runs (False: a token known to be good)


class AuthFailures:
    """Wrong tokens per client address; see the module docstring for the rule."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._addresses: OrderedDict[str, _Address] = OrderedDict()
        self._known_good: OrderedDict[str, None] = OrderedDict()

    def admit(self, address: str, digest: str) -> Check | float:
        """Leave to check the token with SHA-256 `digest`, or the seconds to wait (429)."""
        now = self.clock()
        entry = self._addresses.get(address)
        if entry is not None and now >= entry.blocked_until and now - entry.last_failure > FORGET_AFTER:
            entry.failures.clear()
            entry.blocks = 0
        if entry is not None and now < entry.blocked_until:
            return entry.blocked_until - now
        if digest in self._known_good:
            self._known_good.move_to_end(digest)
            return Check(address, digest, counted=False)
        entry = self._entry(address)
        while entry.failures and now - entry.failures[0] > FAILURE_WINDOW:
            entry.failures.popleft()
        if digest not in entry.checking and len(entry.failures) + len(entry.checking) >= ALLOWED_FAILURES:
            return 1.0  # the allowance is taken by tokens still being checked: wait for their answers
        entry.checking[digest] = entry.checking.get(digest, 0) + 1
        return Check(address, digest, counted=True)

    def settle(self, check: Check, ok: bool | None) -> None:
        """The answer for a token `admit` let through: right, wrong, or None (not answered)."""
        entry = self._addresses.get(check.address)
        if entry is not None and check.counted and check.digest in entry.checking:
            left = entry.checking.pop(check.digest) - 1
            if left:
                entry.checking[check.digest] = left
        if ok is None:
            return
        if ok:
            self._known_good[check.digest] = None
            self._known_good.move_to_end(check.digest)
            while len(self._known_good) > MAX_KNOWN_GOOD:
                self._known_good.popitem(last=False)
            if entry is not None and not (entry.failures or entry.blocks or entry.checking):
                del self._addresses[check.address]  # nothing to remember about an address that succeeds
            return
        self._known_good.pop(check.digest, None)
        entry = self._entry(check.address)
        now = self.clock()
        entry.failures.append(now)
        entry.last_failure = now
        if len(entry.failures) >= ALLOWED_FAILURES:
            entry.blocked_until = now + min(BLOCK_SECONDS * 2**entry.blocks, MAX_BLOCK_SECONDS)
            entry.blocks += 1
            entry.failures.clear()

    def _entry(self, address: str) -> _Address:
        entry = self._addresses.get(address)
        if entry is None:
            entry = self._addresses[address] = _Address()
            while len(self._addresses) > MAX_ADDRESSES:
                self._addresses.popitem(last=False)
        self._addresses.move_to_end(address)
        return entry


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


class Tally:
    """At most one log line per `every` seconds for an event that repeats at a client's pace (an
    attack must not flood the log, nor block on it): the first at once, later ones counted."""

    def __init__(
        self, logger: logging.Logger, level: int, every: float = 10.0, clock: Clock = time.monotonic
    ) -> None:
        self.logger = logger
        self.level = level
        self.every = every
        self.clock = clock
        self.count = 0
        self.last = -math.inf

    def note(self, message: str, *args: object) -> None:
        self.count += 1
        now = self.clock()
        if now - self.last < self.every or not self.logger.isEnabledFor(self.level):
            return
        if self.count > 1:
            message += f" ({self.count} times since the last such line)"
        self.logger.log(self.level, message, *args)
        self.count, self.last = 0, now
