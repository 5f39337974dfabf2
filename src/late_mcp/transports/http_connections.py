"""Connections bounded before any request exists: how many are open, how long headers may take.

uvicorn accepts every connection and waits for its headers without a deadline, so clients that
send headers one byte at a time hold a file descriptor each until the process runs out (and then
nobody is served). Here, in uvicorn's own HTTP protocol (h11), for the life of each connection:

- at most LATE_MCP_MAX_CONNECTIONS are open at once (lowered to what the open-file limit allows,
  which is first raised to its hard limit, with room for the batches asyncio accepts before any
  protocol runs: `connection_budget`); one more makes room by closing the connection that has
  waited longest for its headers (503), or, when every connection is busy with a request, is
  itself closed at once (503);
- a request's headers must be complete within LATE_MCP_HEADER_TIMEOUT seconds of the connection
  opening, or of the previous response on it; otherwise the connection gets 408 and is closed.

What is closed here is logged at most once per 10 s (an attack must not flood the log). A client
that has sent its headers is never closed here; the guard layer (late_mcp.transports.http_app)
bounds what happens after that (body timeout, sessions per caller).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from late_mcp.transports.http_limits import Tally

logger = logging.getLogger("late_mcp.http")
BUSY = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit; the soft limit now
    (Windows has no such limit for sockets: a large number)."""
    try:
        import resource
    except ImportError:  # Windows
        return 1 << 20
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    top = hard if hard != resource.RLIM_INFINITY else 1 << 16
    for wanted in (top, 10240, 4096):  # macOS refuses more than its per-process maximum
        if soft >= wanted:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            continue
        return wanted
    return soft


def connection_budget(open_files: int, wanted: int) -> tuple[int, int]:
    """How many connections may be open at once, and how many the server accepts in one go (also
    its listen backlog), so that both fit in `open_files` descriptors: asyncio accepts a few
    batches before the protocol sees any of them, and the rest of the process (journal, token
    store, Late, logs) keeps its own."""
    spare = open_files - min(64, open_files // 4)
    batch = max(8, min(2048, spare // 8))
    return max(1, min(wanted, spare - 4 * batch)), batch


class ConnectionLimits:
    """The open connections of one server and which of them wait for headers (oldest first)."""

    def __init__(self, max_connections: int, header_timeout: float) -> None:
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self.open: set[GuardedH11Protocol] = set()
        self.waiting: dict[GuardedH11Protocol, float] = {}  # insertion order: longest waiting first
        self.refused = Tally(logger, logging.WARNING)
        self.evicted = Tally(logger, logging.WARNING)
        self.too_slow = Tally(logger, logging.INFO)

    def admit(self, connection: GuardedH11Protocol) -> bool:
        """Count a new connection in; False when it must be closed at once."""
        if len(self.open) >= self.max_connections:
            oldest = next(iter(self.waiting), None)
            if oldest is None:
                self.refused.note(
                    "Refused a connection: all %d are busy with requests.", self.max_connections
                )
                return False
            self.evicted.note(
                "Closed the connection waiting longest for its headers: %d are open "
                "(LATE_MCP_MAX_CONNECTIONS).",
                len(self.open),
            )
            oldest.drop(BUSY)
        self.open.add(connection)
        return True

    def wait(self, connection: GuardedH11Protocol, since: float) -> None:
        self.waiting.pop(connection, None)
        self.waiting[connection] = since

    def served(self, connection: GuardedH11Protocol) -> None:
        self.waiting.pop(connection, None)

    def closed(self, connection: GuardedH11Protocol) -> None:
        self.waiting.pop(connection, None)
        self.open.discard(connection)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a connection cap and a header deadline (see the module)."""

    limits: ConnectionLimits

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._dropped = False
        self._partial = False  # bytes of the next request have arrived since the last response

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.limits.admit(self):
            self.drop(BUSY, always=True)
            return
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        self._partial = True
        super().data_received(data)

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a request's headers are complete
            self._cancel_deadline()
            self._partial = False
            self.limits.served(self)

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._await_headers()  # the next request on this connection gets its own deadline
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        self.limits.closed(self)
        super().connection_lost(exc)

    def drop(self, answer: bytes, *, always: bool = False) -> None:
        """Close a connection that is waiting for headers: with a bare status line when part of a
        request has arrived (or `always`), silently when it sits idle between requests."""
        self._cancel_deadline()
        self.limits.closed(self)
        if self._dropped or self.transport.is_closing():
            return
        self._dropped = True
        if self._partial or always:
            self.transport.write(answer)
        self.transport.close()

    def _await_headers(self) -> None:
        self._cancel_deadline()
        self._deadline = self.loop.call_later(self.limits.header_timeout, self._headers_too_slow)
        self.limits.wait(self, self.loop.time())

    def _headers_too_slow(self) -> None:
        self._deadline = None
        self.limits.too_slow.note(
            "Closed a connection whose request headers took longer than %s s (LATE_MCP_HEADER_TIMEOUT).",
            self.limits.header_timeout,
        )
        self.drop(TOO_SLOW)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


def guarded_protocol(max_connections: int, header_timeout: float) -> type[GuardedH11Protocol]:
    """A protocol class for `uvicorn.Config(http=...)`, with its own ConnectionLimits."""

    class LateMCPH11Protocol(GuardedH11Protocol):
        limits = ConnectionLimits(max_connections, header_timeout)

    return LateMCPH11Protocol
