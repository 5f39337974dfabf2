"""The HTTP face of the server: the SDK's app for the transport, behind one guard layer.

Per request, in this order, before anything reaches the SDK (and so before anything reaches Late):

1. `/healthz` answers 200 at once (no authentication, no Late call): for load balancers.
2. Host and Origin must be on the allow-list (bind address plus LATE_MCP_ALLOWED_HOSTS), checked
   with the SDK's own `TransportSecurityMiddleware`, also on a non-loopback bind (421 / 403).
3. Authentication, when required: `Authorization: Bearer <token>`, the shared LATE_MCP_TOKEN
   compared in constant time, else looked up in the token store (in a worker thread); otherwise
   401. Whether it is required is a latch: on at start when LATE_MCP_TOKEN is set or the store
   holds any token (or cannot be asked), switched on for good the first time the store is found
   to hold one, and never off again: a store deleted or emptied later refuses everyone (401), a
   store that cannot be asked refuses everyone (503, the reason in the log). An address that
   sent too many wrong tokens gets 429 without its token being looked at (late_mcp.transports.http_limits).
   The caller's `Principal` goes into the ASGI scope, where `late_mcp.server.access` picks it up.
   With OAuth on (late_mcp.transports.oauth), an OAuth access token is looked up the same way and
   becomes the same kind of `Principal`; a user or grant in the OAuth store switches the latch on
   too, its endpoints (metadata, authorize, token, register, revoke, the consent page) are
   answered without a token, and a 401 names the protected-resource metadata (RFC 9728).
4. The body is read within LATE_MCP_BODY_TIMEOUT (408 otherwise) and at most the SDK's size limit,
   and a POSTed message is checked as one JSON-RPC 2.0 message (late_mcp.transports.rpcline): a bad id
   (null, a fraction, true/false, an object, an array) or any other shape the SDK would take for
   a notification and drop is answered 400 with a -32600 error and id null, never 202 and silence.
5. Sessions: each streamable HTTP session belongs to the caller that opened it (another caller's
   request for it gets 404), and a caller holds at most its share of LATE_MCP_MAX_SESSIONS
   (late_mcp.transports.http_limits.SessionLedger); SSE streams are counted against LATE_MCP_MAX_SESSIONS
   with the same share per caller.

Connections themselves (how many, how long their headers may take) are bounded below this, in
the server's protocol (late_mcp.transports.http_connections).

The app's lifespan opens the one Late client (and journal) the whole process shares.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import anyio
import mcp_types as types
from mcp.server.transport_security import (
    DEFAULT_MAX_REQUEST_BODY_SIZE,
    TransportSecurityMiddleware,
    TransportSecuritySettings,
)
from starlette.requests import Request

from late_mcp.auth.oauth_store import ACCESS_PREFIX, OAuthStore
from late_mcp.auth.principal import Principal, caller_of
from late_mcp.auth.tokens import TokenStore, TokenStoreUnavailable, same_secret, token_hash
from late_mcp.config.http import HttpSettings, is_loopback
from late_mcp.server.access import PRINCIPAL_KEY
from late_mcp.server.build import LateMCPServer
from late_mcp.transports.http_answers import (
    STORE_DOWN,
    UNAUTHORIZED,
    Answer,
    rpc_refusal,
    too_many_failures,
    unauthorized,
)
from late_mcp.transports.http_limits import AuthFailures, address_key
from late_mcp.transports.http_sessions import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    SessionAdmission,
    SessionLedger,
    StreamCounter,
    header,
    send_json,
)
from late_mcp.transports.page import with_browser_page
from late_mcp.transports.rpcline import check_line, error_response

if TYPE_CHECKING:
    from late_mcp.transports.oauth import OAuthFront

HEALTH_PATH = "/healthz"
MCP_PATH = "/mcp"
FULL_ACCESS = Principal(name="LATE_MCP_TOKEN", shared=True)
BIG_BODY = 64 * 1024  # checked in a worker thread from this size on
logger = logging.getLogger("late_mcp.http")


def allowed_hosts(http: HttpSettings) -> list[str]:
    """Host names the server answers to: the bind address (loopback names for loopback and
    wildcard binds) plus LATE_MCP_ALLOWED_HOSTS; each with any port unless one is given."""
    names: list[str] = []
    if is_loopback(http.host) or http.host in {"0.0.0.0", "::", ""}:
        names += ["127.0.0.1", "localhost", "[::1]"]
    else:
        names.append(f"[{http.host}]" if ":" in http.host else http.host)
    names += list(http.allowed_hosts)
    public = urlsplit(http.public_url).netloc if http.public_url else ""
    if public and public not in names:
        names.append(public)  # LATE_MCP_PUBLIC_URL: clients (and the consent page) reach it by that name
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


def authentication_required(http: HttpSettings, store: TokenStore | None) -> bool:
    """Whether requests need a token from the start: LATE_MCP_TOKEN is set, the store holds a
    token, or the store cannot be asked (then nothing is let through until it answers)."""
    if http.token is not None:
        return True
    if store is None:
        return False
    try:
        return store.has_tokens()
    except TokenStoreUnavailable as exc:
        logger.warning("%s Requests are refused until it answers.", exc)
        return True


def _bearer(scope: Scope) -> str | None:
    value = header(scope, b"authorization")
    if value is None:
        return None
    kind, _, token = value.decode("latin-1").partition(" ")
    return token.strip() if kind.lower() == "bearer" and token.strip() else None


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
        required: bool | None = None,
    ) -> None:
        self.app = app
        self.server = server
        self.http = http
        self.store = store
        self.checker = TransportSecurityMiddleware(security)
        self.sse_path = sse_path
        self.required = authentication_required(http, store) if required is None else required
        self.oauth: OAuthFront | None = None  # set by build_http_app when OAuth is on
        self.unauthorized = UNAUTHORIZED
        self.failures = AuthFailures()
        stateful = sse_path is None and not http.stateless
        ledger = SessionLedger(http.max_sessions, http.session_idle_timeout)
        self.sessions = SessionAdmission(app, ledger) if stateful else None
        self.streams = StreamCounter(app, http.max_sessions)
        self._store_state = "ok"
        self._had_tokens = self.required and http.token is None

    # -- who is calling ------------------------------------------------------------------------

    async def _authenticate(self, scope: Scope) -> Principal | Answer | None:
        """The caller, None for nobody in particular (no authentication needed), or the refusal."""
        token = _bearer(scope)
        if token is None:
            return self.unauthorized if self.required else await self._anonymous()
        admitted = self.failures.admit(address_key(scope.get("client")), token_hash(token))
        if isinstance(admitted, float):
            return too_many_failures(admitted)
        ok: bool | None = None
        try:
            if self.http.token is not None and same_secret(token, self.http.token):
                ok = True
                return FULL_ACCESS
            if self.oauth is not None and token.startswith(ACCESS_PREFIX):
                try:
                    found = await self.oauth.lookup(token)
                except TokenStoreUnavailable as exc:
                    return self._store_down(exc)
                if isinstance(found, Principal):
                    ok = True
                    return found
                ok = False
                return unauthorized(self.oauth.resource_metadata, found if isinstance(found, str) else None)
            if self.store is None:
                ok = False if self.required else None
                return self.unauthorized if self.required else None
            try:  # a file or Redis: asked from a worker thread, so neither blocks other requests
                principal, any_tokens = await anyio.to_thread.run_sync(self._look_up, token)
            except TokenStoreUnavailable as exc:
                return self._store_down(exc)
            self._store_answers(any_tokens)
            if principal is not None:
                ok = True
                return principal
            if not self.required:
                return None  # no token exists anywhere: the token is ignored, as before
            ok = False
            return self.unauthorized
        finally:
            self.failures.settle(admitted, ok)

    def _look_up(self, token: str) -> tuple[Principal | None, bool]:
        assert self.store is not None
        principal = self.store.lookup(token)
        return principal, principal is not None or self._anything_stored()

    def _anything_stored(self) -> bool:
        """A token exists, or OAuth sign-in was set up (a user or a grant): then tokens are needed."""
        assert self.store is not None
        return self.store.has_tokens() or (self.oauth is not None and self.oauth.store.in_use())

    async def _anonymous(self) -> Answer | None:
        """A request without a token while none is required yet: let through unless the store now
        holds a token (which switches authentication on for good)."""
        if self.store is None:
            return None
        try:
            any_tokens = await anyio.to_thread.run_sync(self._anything_stored)
        except TokenStoreUnavailable as exc:
            return self._store_down(exc)
        self._store_answers(any_tokens)
        return self.unauthorized if self.required else None

    def _store_answers(self, any_tokens: bool) -> None:
        if any_tokens and not self.required:
            self.required = True
            logger.warning("A token was created: from now on every request needs one.")
        self._had_tokens = self._had_tokens or any_tokens
        state = "empty" if self._had_tokens and not any_tokens else "ok"
        if state != self._store_state:
            if state == "empty":
                logger.warning(
                    "The token store holds no token any more (deleted or emptied?) while tokens are "
                    "required: every request is refused (401) until tokens are created again "
                    "(`late-mcp token create NAME`)."
                )
            else:
                logger.warning("The token store answers again%s.", " and holds tokens" if any_tokens else "")
            self._store_state = state

    def _store_down(self, exc: TokenStoreUnavailable) -> Answer:
        if self._store_state != "down":
            logger.warning("%s Every request that needs it is refused (503) until it answers.", exc)
            self._store_state = "down"
        return STORE_DOWN

    # -- the request -----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            async with self.server.shared_context():  # one Late client for the whole process
                await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no WebSocket endpoint exists: refuse before the SDK sees it
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["path"] == HEALTH_PATH:
            await send_json(send, 200, b'{"status":"ok"}')
            return
        refusal = await self.checker.validate_request(Request(scope), is_post=False)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if self.oauth is not None and scope["path"] in self.oauth.paths:
            await self._oauth_endpoint(scope, receive, send)
            return
        who = await self._authenticate(scope)
        if isinstance(who, Answer):
            await who(send)
            return
        scope.setdefault("state", {})[PRINCIPAL_KEY] = who
        message: types.JSONRPCMessage | None = None
        if scope["method"] in {"POST", "PUT", "PATCH"}:
            body = await self._read_body(receive, send)
            if body is None:
                return
            if scope["method"] == "POST" and self._carries_messages(scope["path"]):
                checked = await self._check_message(body)
                if isinstance(checked, Answer):
                    await checked(send)
                    return
                message = checked
            receive = _replay(body, receive)
        if self.sse_path is not None and scope["path"] == self.sse_path and scope["method"] == "GET":
            await self.streams(scope, receive, send, caller_of(who), limited=self.required)
        elif self.sessions is not None and scope["path"] == MCP_PATH:
            await self.sessions(scope, receive, send, caller_of(who), message, limited=self.required)
        else:
            await self.app(scope, receive, send)

    async def _oauth_endpoint(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An OAuth endpoint: no token needed; its body read within the same time and size limits."""
        from late_mcp.transports.oauth import client_secrets, presented_secrets

        assert self.oauth is not None
        presented: dict[str, str] = {}
        if scope["method"] == "POST":
            body = await self._read_body(receive, send)
            if body is None:
                return
            presented = client_secrets(body, header(scope, b"authorization"))
            receive = _replay(body, receive)
        reset = presented_secrets.set(presented)
        try:
            await self.oauth.app(scope, receive, send)
        except TokenStoreUnavailable as exc:
            await self._store_down(exc)(send)
        finally:
            presented_secrets.reset(reset)

    def _carries_messages(self, path: str) -> bool:
        return path == MCP_PATH if self.sse_path is None else path.startswith("/messages")

    async def _check_message(self, body: bytes) -> types.JSONRPCMessage | Answer:
        """The posted JSON-RPC message, or a 400 answer for one the SDK would drop or refuse."""
        if len(body) >= BIG_BODY:
            checked = await anyio.to_thread.run_sync(check_line, body)
        else:
            checked = check_line(body)
        if checked is None:
            return rpc_refusal(
                400, [error_response(None, types.PARSE_ERROR, "Parse error: the request body is empty.")]
            )
        if isinstance(checked, list):
            return rpc_refusal(
                400,
                checked
                or [
                    error_response(
                        None, types.INVALID_REQUEST, "Invalid request: not a valid JSON-RPC 2.0 response."
                    )
                ],
            )
        return checked

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
                    await send_json(send, 413, b'{"error":"request body too large"}')
                    return None
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
        assert timer.cancelled_caught
        await send_json(send, 408, b'{"error":"request body not received in time"}')
        return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def build_http_app(
    server: LateMCPServer,
    http: HttpSettings,
    store: TokenStore | None,
    *,
    required: bool | None = None,
    oauth_store: OAuthStore | None = None,
) -> Guard:
    """The ASGI app `late-mcp --transport http|sse` serves; with `oauth_store`, OAuth sign-in too
    (streamable HTTP only)."""
    security = security_settings(http)
    if http.transport == "sse":
        inner: ASGIApp = server.sse_app(transport_security=security, host=http.host)
        return Guard(inner, server, http, store, security, sse_path="/sse", required=required)
    app = server.streamable_http_app(
        transport_security=security,
        host=http.host,
        stateless_http=http.stateless,
        max_sessions=http.max_sessions,
        session_idle_timeout=http.session_idle_timeout,
    )
    shown = "localhost" if http.host in {"0.0.0.0", "::", ""} else http.host
    page = with_browser_page(app, f"http://{shown}:{http.port}/mcp")
    guard = Guard(page, server, http, store, security, required=required)
    if oauth_store is not None:
        from late_mcp.transports.oauth import build_oauth

        guard.oauth = build_oauth(server, http, oauth_store, guard.failures)
        guard.unauthorized = unauthorized(guard.oauth.resource_metadata)
        guard.required = guard.required or guard.oauth.in_use()
    return guard
