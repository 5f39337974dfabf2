"""Sessions per caller, for the HTTP guard (late_mcp.transports.http_app).

Streamable HTTP: each session belongs to the caller that opened it (learnt from the
`mcp-session-id` the SDK puts on the initialize answer); another caller's request for it gets
404, as if it did not exist. One caller (one token) holds at most half of LATE_MCP_MAX_SESSIONS
(at least 1). One more of its own ends its least recently used session that is not answering a
request (so it can go on); when the server is full, a caller holding at least two sessions more
than the newcomer gives up its least recently used one (so there is always room for others).
A session is ended through the protocol itself: a DELETE with its id, handed to the SDK's app.
Without authentication callers cannot be told apart, and the plain limit applies. Stateless mode
has no sessions.

SSE: streams count against LATE_MCP_MAX_SESSIONS, and one caller holds at most the same share.

The bookkeeping (`SessionLedger`) awaits nothing, so opens that race see one consistent count.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, MutableMapping
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from late_mcp.transports.http_limits import Tally
from late_mcp.transports.rpcline import error_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Clock = Callable[[], float]

SESSION_HEADER = b"mcp-session-id"
VERSION_HEADER = b"mcp-protocol-version"
logger = logging.getLogger("late_mcp.http")


async def send_json(
    send: Send, status: int, body: bytes, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    """A complete JSON answer."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


async def send_rpc_error(send: Send, status: int, code: int, message: str) -> None:
    """A JSON-RPC error without id (nothing to answer to) with an HTTP status, as the SDK sends."""
    error = error_response(None, code, message).model_dump(mode="json", by_alias=True, exclude_unset=True)
    await send_json(send, status, json.dumps(error).encode())


@dataclass
class _Session:
    caller: Hashable
    last_used: float
    answering: int = 0  # POST/DELETE requests being served
    streams: int = 0  # open GET streams (they keep a session alive, but do not protect it)
    idle_since: float = 0.0


class SessionRefused(Exception):
    """No session can be opened for this caller now; the message says the rule and what to do."""


class SessionLedger:
    """Streamable HTTP sessions by caller; see the module docstring for the rule."""

    def __init__(self, max_sessions: int, idle_timeout: float, clock: Clock = time.monotonic) -> None:
        self.max_sessions = max_sessions
        self.share = max(1, max_sessions // 2)
        self.idle_timeout = idle_timeout
        self.clock = clock
        self.sessions: dict[str, _Session] = {}
        self.opening: dict[Hashable, int] = {}

    def owner(self, session_id: str) -> Hashable | None:
        session = self.sessions.get(session_id)
        return None if session is None else session.caller

    def tracks(self, session_id: str) -> bool:
        return session_id in self.sessions

    def held_by(self, caller: Hashable) -> int:
        return sum(1 for s in self.sessions.values() if s.caller == caller) + self.opening.get(caller, 0)

    def admit(self, caller: Hashable, *, limited: bool) -> list[str]:
        """Reserve room for one more session of `caller`: the sessions to end first (already
        forgotten here), or SessionRefused. `limited`: callers are told apart (authentication is
        on), so the per-caller share applies. The caller must call `opened` or `abandoned`."""
        ended = self._expired()
        total = len(self.sessions) + sum(self.opening.values())
        mine = self.held_by(caller)
        if not limited:
            if total >= self.max_sessions:
                raise SessionRefused(
                    f"Too many open sessions: all {self.max_sessions} (LATE_MCP_MAX_SESSIONS) are in use; "
                    "end one (HTTP DELETE with its Mcp-Session-Id) or try again later."
                )
        elif mine >= self.share:
            victim = self._least_recently_used(caller)
            if victim is None:
                raise SessionRefused(
                    f"Too many open sessions for this token: it holds {mine}, the most one caller may "
                    f"hold (half of LATE_MCP_MAX_SESSIONS={self.max_sessions}), and each is answering a "
                    "request. End one (HTTP DELETE with its Mcp-Session-Id) or retry when a call finishes."
                )
            ended.append(self._forget(victim))
        elif total >= self.max_sessions:
            victim = self._from_the_largest_holder(mine)
            if victim is None:
                raise SessionRefused(
                    f"Too many open sessions: all {self.max_sessions} (LATE_MCP_MAX_SESSIONS) are in use "
                    "and none can be given up for this token; try again later."
                )
            ended.append(self._forget(victim))
        self.opening[caller] = self.opening.get(caller, 0) + 1
        return ended

    def opened(self, caller: Hashable, session_id: str) -> None:
        """The SDK opened `session_id` for the request `admit` reserved room for (still answering it)."""
        self._release(caller)
        now = self.clock()
        self.sessions[session_id] = _Session(caller=caller, last_used=now, answering=1, idle_since=now)

    def abandoned(self, caller: Hashable) -> None:
        """The request `admit` reserved room for opened no session."""
        self._release(caller)

    def begin(self, session_id: str, *, stream: bool) -> None:
        session = self.sessions.get(session_id)
        if session is None:
            return
        if stream:
            session.streams += 1
        else:
            session.answering += 1
            session.last_used = self.clock()

    def end(self, session_id: str, *, stream: bool) -> None:
        session = self.sessions.get(session_id)
        if session is None:
            return
        if stream:
            session.streams = max(0, session.streams - 1)
        else:
            session.answering = max(0, session.answering - 1)
            session.last_used = self.clock()
        if not session.answering and not session.streams:
            session.idle_since = self.clock()

    def forget(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)

    def _release(self, caller: Hashable) -> None:
        left = self.opening.get(caller, 0) - 1
        if left > 0:
            self.opening[caller] = left
        else:
            self.opening.pop(caller, None)

    def _forget(self, session_id: str) -> str:
        del self.sessions[session_id]
        return session_id

    def _expired(self) -> list[str]:
        """Sessions past the idle timeout: the SDK ends them by itself; forgotten here, and ended
        once more (harmless) so the two counts agree."""
        now = self.clock()
        gone = [
            sid
            for sid, s in self.sessions.items()
            if not s.answering and not s.streams and now - s.idle_since > self.idle_timeout
        ]
        for sid in gone:
            del self.sessions[sid]
        return gone

    def _least_recently_used(self, caller: Hashable) -> str | None:
        candidates = [
            (s.last_used, sid) for sid, s in self.sessions.items() if s.caller == caller and not s.answering
        ]
        return min(candidates)[1] if candidates else None

    def _from_the_largest_holder(self, mine: int) -> str | None:
        held: dict[Hashable, int] = {}
        for session in self.sessions.values():
            held[session.caller] = held.get(session.caller, 0) + 1
        for caller, count in sorted(held.items(), key=lambda item: -item[1]):
            if count < mine + 2:
                return None
            victim = self._least_recently_used(caller)
            if victim is not None:
                return victim
        return None


class SessionAdmission:
    """Streamable HTTP requests through the ledger: opens admitted (ending sessions to make
    room), sessions booked to their caller and used only by it."""

    def __init__(self, app: ASGIApp, ledger: SessionLedger) -> None:
        self.app = app
        self.ledger = ledger
        self.refusals = Tally(logger, logging.WARNING)
        self.endings = Tally(logger, logging.INFO)

    async def __call__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        caller: Hashable,
        message: types.JSONRPCMessage | None,
        *,
        limited: bool,
    ) -> None:
        raw_id = header(scope, SESSION_HEADER)
        if raw_id is None:
            if opens_session(scope, message):
                await self._open(scope, receive, send, caller, limited=limited)
            else:
                await self.app(scope, receive, send)
            return
        session_id = raw_id.decode("latin-1")
        if self.ledger.tracks(session_id) and self.ledger.owner(session_id) != caller:
            await send_rpc_error(send, 404, types.INVALID_REQUEST, "Session not found")
            return
        stream = scope["method"] == "GET"
        status: int | None = None

        async def watched(reply: Message) -> None:
            nonlocal status
            if reply["type"] == "http.response.start":
                status = reply["status"]
            await send(reply)

        self.ledger.begin(session_id, stream=stream)
        try:
            await self.app(scope, receive, watched)
        finally:
            self.ledger.end(session_id, stream=stream)
            if scope["method"] == "DELETE" or status == 404:
                self.ledger.forget(session_id)

    async def _open(
        self, scope: Scope, receive: Receive, send: Send, caller: Hashable, *, limited: bool
    ) -> None:
        try:
            ended = self.ledger.admit(caller, limited=limited)
        except SessionRefused as refused:
            self.refusals.note("Refused a new session: %s", refused)
            await send_rpc_error(send, 503, types.INTERNAL_ERROR, str(refused))
            return
        for session_id in ended:
            await self._end(scope, session_id)
        opened: str | None = None

        async def watched(reply: Message) -> None:
            nonlocal opened
            if reply["type"] == "http.response.start" and reply["status"] < 400 and opened is None:
                for name, value in reply.get("headers", []):
                    if name.lower() == SESSION_HEADER:
                        opened = value.decode("latin-1")
                        self.ledger.opened(caller, opened)
            await send(reply)

        try:
            await self.app(scope, receive, watched)
        finally:
            if opened is None:
                self.ledger.abandoned(caller)
            else:
                self.ledger.end(opened, stream=False)

    async def _end(self, scope: Scope, session_id: str) -> None:
        """End a session through the protocol: a DELETE with its id, handed to the SDK's app."""
        headers = [(SESSION_HEADER, session_id.encode("latin-1"))]
        host = header(scope, b"host")
        if host is not None:
            headers.append((b"host", host))
        ending = {**scope, "method": "DELETE", "headers": headers, "query_string": b"", "state": {}}
        asked = False

        async def receive() -> Message:
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.disconnect"}

        async def discard(reply: Message) -> None:
            return None

        with anyio.CancelScope(shield=True):
            await self.app(ending, receive, discard)
        self.endings.note("Ended a session to make room for a new one (LATE_MCP_MAX_SESSIONS).")


def opens_session(scope: Scope, message: types.JSONRPCMessage | None) -> bool:
    """An initialize request on a protocol version that has sessions (2026-07-28 has none)."""
    version = header(scope, VERSION_HEADER)
    legacy = version is None or version.decode("latin-1") in HANDSHAKE_PROTOCOL_VERSIONS
    return legacy and isinstance(message, types.JSONRPCRequest) and message.method == "initialize"


class StreamCounter:
    """SSE streams: at most `max_sessions` open, at most half of them (at least 1) per caller
    when callers are told apart (the SDK has no limit of its own for SSE)."""

    def __init__(self, app: ASGIApp, max_sessions: int) -> None:
        self.app = app
        self.max_sessions = max_sessions
        self.share = max(1, max_sessions // 2)
        self.open: dict[Hashable, int] = {}

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, caller: Hashable, *, limited: bool
    ) -> None:
        mine = self.open.get(caller, 0)
        if limited and mine >= self.share:
            rule = f"this token holds {mine}, the most one caller may hold (half of LATE_MCP_MAX_SESSIONS)"
        elif sum(self.open.values()) >= self.max_sessions:
            rule = f"all {self.max_sessions} (LATE_MCP_MAX_SESSIONS) are open"
        else:
            rule = ""
        if rule:
            body = json.dumps({"error": f"too many open sessions: {rule}; try again later"}).encode()
            await send_json(send, 503, body)
            return
        self.open[caller] = mine + 1
        try:
            await self.app(scope, receive, send)
        finally:
            left = self.open[caller] - 1
            if left:
                self.open[caller] = left
            else:
                del self.open[caller]
