"""Forward the `late_mcp` log records to the connected client as MCP log notifications.

Stderr keeps its own handler and level; this adds a second destination, at the level the client
chose. Everything goes through the SDK's public middleware hook (`MCPServer.middleware`):

- Protocol versions up to 2025-11-25 (the initialize handshake): the client sets its level with
  `logging/setLevel`, which this middleware answers (and `initialize` advertises the `logging`
  capability). Until the client sets one, it gets what stderr shows (LATE_LOG_LEVEL).
- 2026-07-28 deprecates the logging capability and drops `logging/setLevel`: a request opts in
  with the `io.modelcontextprotocol/logLevel` key in its `_meta`, and only that request's records
  at or above that level are sent; without the key nothing is.

A record reaches the client only while a request of that client is being handled (it rides that
request's stream, before its answer); start-up records go to stderr only. The API key is never
forwarded: the handler carries the same scrubbing filter as the stderr handler (late/logscrub.py:
the key whole, cut short, in another case or base64), which rewrites each record in place before
any handler after it sees the record; each message is then cut to 2,000 characters.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import logging
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import (
    LOG_LEVEL_META_KEY,
    LoggingLevel,
    LoggingMessageNotification,
    LoggingMessageNotificationParams,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from late_mcp.late.logscrub import SCRUB

LOGGER_NAME = "late_mcp"
MAX_MESSAGE = 2000
QUEUE_SIZE = 256
# MCP (RFC 5424) levels as Python levels: a client's level is the threshold, records at or above it go.
MCP_TO_PYTHON: Final[dict[str, int]] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": 25,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "alert": logging.CRITICAL + 5,
    "emergency": logging.CRITICAL + 10,
}


def mcp_level(levelno: int) -> LoggingLevel:
    """The MCP level of a Python record."""
    if levelno < logging.INFO:
        return "debug"
    if levelno < 25:
        return "info"
    if levelno < logging.WARNING:
        return "notice"
    if levelno < logging.ERROR:
        return "warning"
    if levelno < logging.CRITICAL:
        return "error"
    return "critical"


@dataclass(frozen=True)
class _Entry:
    level: LoggingLevel
    logger: str
    message: str


class _Sink:
    """Where one request's records go. Costs nothing until a record comes: the first one starts
    a task that sends entries onto the request's stream as they come; `finish()` sends the rest
    before the request is answered."""

    def __init__(self, ctx: ServerRequestContext[Any, Any], threshold: int) -> None:
        self.ctx = ctx
        self.threshold = threshold
        self.thread = threading.get_ident()
        self.loop = _asyncio_loop()  # None under trio: entries then go out at the end of the request
        self.entries: collections.deque[_Entry] = collections.deque()
        self.closed = False
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def put(self, entry: _Entry) -> None:
        """Queue an entry (on the loop's thread); a full queue or a finished request drops it (the
        record still went to stderr)."""
        if self.closed or len(self.entries) >= QUEUE_SIZE:
            return
        self.entries.append(entry)
        if self.loop is None:
            return
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = self.loop.create_task(self._drain())
        elif self._wake is not None:
            self._wake.set()

    async def _send_queued(self) -> bool:
        while self.entries:
            entry = self.entries.popleft()
            notification = LoggingMessageNotification(
                params=LoggingMessageNotificationParams(
                    level=entry.level, logger=entry.logger, data=entry.message
                )
            )
            try:
                await self.ctx.session.send_notification(notification, related_request_id=self.ctx.request_id)
            except Exception:  # the client went away: its answer will fail the same way
                self.entries.clear()
                return False
        return True

    async def _drain(self) -> None:
        assert self._wake is not None
        while await self._send_queued() and not self.closed:
            self._wake.clear()
            await self._wake.wait()

    async def finish(self) -> None:
        """Send what is still queued, so every entry goes before the answer."""
        self.closed = True
        if self._task is not None:
            assert self._wake is not None
            self._wake.set()
            await self._task
        await self._send_queued()

    def abort(self) -> None:
        """The request was cancelled: drop what is queued."""
        self.closed = True
        self.entries.clear()
        if self._task is not None:
            self._task.cancel()


_current: contextvars.ContextVar[_Sink | None] = contextvars.ContextVar("late_mcp_client_log", default=None)


class ClientLogHandler(logging.Handler):
    """Hands each `late_mcp` record to the client request being handled in this context, if any.
    Its filter scrubs every record that reaches it, whether or not a client takes it."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(SCRUB)

    def emit(self, record: logging.LogRecord) -> None:
        sink = _current.get()
        if sink is None or record.levelno < sink.threshold:
            return
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not break the request
            message = str(record.msg)
        entry = _Entry(mcp_level(record.levelno), record.name, message[:MAX_MESSAGE])
        if threading.get_ident() == sink.thread:
            sink.put(entry)
        elif sink.loop is not None:  # a worker thread (anyio.to_thread copies the context): hop onto the loop
            with contextlib.suppress(RuntimeError):  # the loop has closed
                sink.loop.call_soon_threadsafe(sink.put, entry)


_handler = ClientLogHandler()


def install() -> None:
    """Attach the handler to the `late_mcp` logger once."""
    logger = logging.getLogger(LOGGER_NAME)
    if _handler not in logger.handlers:
        logger.addHandler(_handler)


def let_through(threshold: int) -> None:
    """Make the `late_mcp` loggers create records down to `threshold`, so a client that asks for
    debug gets debug, while every other handler (stderr) keeps showing only what it showed."""
    logger = logging.getLogger(LOGGER_NAME)
    if logger.isEnabledFor(threshold):  # cached by logging: the cheap answer on every request
        return
    node: logging.Logger | None = logger
    while node is not None:
        for handler in node.handlers:
            if handler is not _handler and handler.level == logging.NOTSET:
                handler.setLevel(node.getEffectiveLevel())
        node = node.parent if node.propagate else None
    logger.setLevel(threshold)


class ClientLogMiddleware:
    """Server middleware: answers `logging/setLevel`, advertises `logging`, and opens a sink for
    each request whose client wants log notifications."""

    def __init__(self, default_level: str = "WARNING") -> None:
        self.default = MCP_TO_PYTHON.get(default_level.lower(), logging.WARNING)
        # The level each connection set, keyed by its initialize params (one object per connection;
        # the SDK offers no connection handle to middleware). Entries go when the connection does.
        self._levels: dict[int, int] = {}
        install()

    @staticmethod
    def _key(ctx: ServerRequestContext[Any, Any]) -> int:
        params = ctx.session.client_params
        return 0 if params is None else id(params)

    def threshold(self, ctx: ServerRequestContext[Any, Any]) -> int | None:
        """The level this request's client asked for; None when it wants no log notifications."""
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            requested = (ctx.meta or {}).get(LOG_LEVEL_META_KEY)
            return MCP_TO_PYTHON.get(requested) if isinstance(requested, str) else None
        return self._levels.get(self._key(ctx), self.default)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.request_id is None:
            return await call_next(ctx)
        if ctx.method == "initialize":
            return advertise_logging(await call_next(ctx))
        if ctx.method == "logging/setLevel" and ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            return await self.set_level(ctx)
        threshold = self.threshold(ctx)
        if threshold is None:
            return await call_next(ctx)
        let_through(threshold)
        sink = _Sink(ctx, threshold)
        token = _current.set(sink)
        try:
            result = await call_next(ctx)
        except Exception:
            _current.reset(token)
            await sink.finish()
            raise
        except BaseException:
            _current.reset(token)
            sink.abort()
            raise
        _current.reset(token)
        await sink.finish()
        return result

    async def set_level(self, ctx: ServerRequestContext[Any, Any]) -> HandlerResult:
        from mcp.shared.exceptions import MCPError
        from mcp_types import INVALID_PARAMS

        level = (ctx.params or {}).get("level")
        if not isinstance(level, str) or level not in MCP_TO_PYTHON:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"level must be one of {', '.join(MCP_TO_PYTHON)} (got {str(level)[:40]!r})",
            )
        key = self._key(ctx)
        if key not in self._levels and ctx.session.client_params is not None:
            weakref.finalize(ctx.session.client_params, self._levels.pop, key, None)
        self._levels[key] = MCP_TO_PYTHON[level]
        let_through(MCP_TO_PYTHON[level])
        return {}


def advertise_logging(result: HandlerResult) -> HandlerResult:
    """Add `logging: {}` to an initialize result's capabilities (the server answers setLevel)."""
    if isinstance(result, dict) and isinstance(result.get("capabilities"), Mapping):
        result["capabilities"] = {**result["capabilities"], "logging": {}}
    return result


def _asyncio_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # trio
        return None
