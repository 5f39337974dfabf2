"""The HTTP face of the server: the SDK's app for the transport, behind one guard layer.

Per request, in this order, before anything reaches the SDK (and so before anything reaches Late):

1. `/healthz` answers 200 at once (no authentication, no Late call): for load balancers.
2. Host and Origin must be on the allow-list (bind address plus LATE_MCP_ALLOWED_HOSTS), checked
   with the SDK's own `TransportSecurityMiddleware`, also on a non-loopback bind (421 / 403).
3. Authentication, when configured (LATE_MCP_TOKEN, or any token in the token store):
   `Authorization: Bearer <token>`, compared in constant time; otherwise 401. The caller's
   `Principal` goes into the ASGI scope, where `late_mcp.access` picks it up for every message.
4. The body is read within LATE_MCP_BODY_TIMEOUT (408 otherwise) and at most the SDK's size limit.
5. SSE streams are counted against LATE_MCP_MAX_SESSIONS (streamable HTTP: the SDK's own limit).

The app's lifespan opens the one Late client (and journal) the whole process shares.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import anyio
from mcp.server.transport_security import (
    DEFAULT_MAX_REQUEST_BODY_SIZE,
    TransportSecurityMiddleware,
    TransportSecuritySettings,
)
from starlette.requests import Request

from late_mcp.access import PRINCIPAL_KEY
from late_mcp.httpconfig import HttpSettings, is_loopback
from late_mcp.principal import Principal
from late_mcp.server import LateMCPServer
from late_mcp.tokens import TokenStore, same_secret

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEALTH_PATH = "/healthz"
FULL_ACCESS = Principal(name="LATE_MCP_TOKEN", shared=True)


def allowed_hosts(http: HttpSettings) -> list[str]:
    """Host names the server answers to: the bind address (loopback names for loopback and
    wildcard binds) plus LATE_MCP_ALLOWED_HOSTS; each with any port unless one is given."""
    names: list[str] = []
    if is_loopback(http.host) or http.host in {"0.0.0.0", "::", ""}:
        names += ["127.0.0.1", "localhost", "[::1]"]
    else:
        names.append(f"[{http.host}]" if ":" in http.host else http.host)
    names += list(http.allowed_hosts)
    hosts: list[str] = []
    for name in names:
        has_port = name.rsplit("]", 1)[-1].count(":") == 1
        hosts += [name] if has_port else [name, f"{name}:*"]
    return hosts


def security_settings(http: HttpSettings) -> TransportSecuritySettings:
    hosts = allowed_hosts(http)
    origins = [f"{scheme}://{host}" for host in hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


async def _answer(send: Send, status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
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


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if kind.lower() == "bearer" and token.strip() else None
    return None


class Guard:
    """The guard layer described in the module docstring, around the SDK's app."""

    def __init__(
        self,
        app: ASGIApp,
        server: LateMCPServer,
        http: HttpSettings,
        store: TokenStore | None,
        security: TransportSecuritySettings,
        *,
        sse_path: str | None = None,
    ) -> None:
        self.app = app
        self.server = server
        self.http = http
        self.store = store
        self.checker = TransportSecurityMiddleware(security)
        self.sse_path = sse_path
        self.open_streams = 0

    async def _authenticate(self, scope: Scope) -> tuple[bool, Principal | None]:
        """Whether this server wants a token at all, and whose the request's token is. The shared
        token is compared in place; the token store (a file or Redis) is asked from a worker
        thread, so neither blocks the other requests."""
        token = _bearer(scope)
        if self.http.token is not None and token and same_secret(token, self.http.token):
            return True, FULL_ACCESS
        if self.store is None:
            return self.http.token is not None, None
        return await anyio.to_thread.run_sync(self._ask_store, token)

    def _ask_store(self, token: str | None) -> tuple[bool, Principal | None]:
        assert self.store is not None
        principal = self.store.lookup(token) if token else None
        if principal is not None:
            return True, principal
        return self.http.token is not None or self.store.has_tokens(), None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            async with self.server.shared_context():  # one Late client for the whole process
                await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no WebSocket endpoint exists: refuse before the SDK sees it
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["path"] == HEALTH_PATH:
            await _answer(send, 200, b'{"status":"ok"}')
            return
        refusal = await self.checker.validate_request(Request(scope), is_post=False)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        required, principal = await self._authenticate(scope)
        if required and principal is None:
            await _answer(
                send,
                401,
                b'{"error":"unauthorized","message":"Send Authorization: Bearer <token> '
                b'(LATE_MCP_TOKEN or a token from `late-mcp token create`)."}',
                [(b"www-authenticate", b'Bearer realm="late-mcp"')],
            )
            return
        scope.setdefault("state", {})[PRINCIPAL_KEY] = principal
        if scope["method"] in {"POST", "PUT", "PATCH"}:
            body = await self._read_body(receive, send)
            if body is None:
                return
            receive = _replay(body, receive)
        if self.sse_path is not None and scope["path"] == self.sse_path and scope["method"] == "GET":
            await self._stream(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _read_body(self, receive: Receive, send: Send) -> bytes | None:
        """The whole body within the body timeout and size limit, or None after answering 408/413."""
        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(self.http.body_timeout) as timer:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return None  # the client went away
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > DEFAULT_MAX_REQUEST_BODY_SIZE:
                    await _answer(send, 413, b'{"error":"request body too large"}')
                    return None
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
        assert timer.cancelled_caught
        await _answer(send, 408, b'{"error":"request body not received in time"}')
        return None

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An SSE stream: at most `max_sessions` at once (the SDK has no limit of its own for SSE)."""
        if self.open_streams >= self.http.max_sessions:
            await _answer(send, 503, b'{"error":"too many open sessions; try again later"}')
            return
        self.open_streams += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open_streams -= 1


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def build_http_app(server: LateMCPServer, http: HttpSettings, store: TokenStore | None) -> ASGIApp:
    """The ASGI app `late-mcp --transport http|sse` serves."""
    from late_mcp.serving import with_browser_page

    security = security_settings(http)
    if http.transport == "sse":
        inner: ASGIApp = server.sse_app(transport_security=security, host=http.host)
        return Guard(inner, server, http, store, security, sse_path="/sse")
    app = server.streamable_http_app(
        transport_security=security,
        host=http.host,
        stateless_http=http.stateless,
        max_sessions=http.max_sessions,
        session_idle_timeout=http.session_idle_timeout,
    )
    shown = "localhost" if http.host in {"0.0.0.0", "::", ""} else http.host
    page = with_browser_page(app, f"http://{shown}:{http.port}/mcp")
    return Guard(page, server, http, store, security)
