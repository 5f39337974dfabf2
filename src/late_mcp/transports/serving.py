"""Serve the server on a transport, with the courtesies people need around it.

- stdio: our own transport (late_mcp.transports.stdio) answers every line, even one the SDK cannot parse;
  started by hand in a terminal it says, on stderr, that it waits for an MCP client and
  how to try it instead; Ctrl-C ends it at once with status 130 and no traceback.
- HTTP (streamable, or SSE, deprecated: a warning line at start): the SDK's own app behind
  late-mcp's guard layer (late_mcp.transports.http_app), served by uvicorn on a socket bound here,
  with connections capped and header reads timed out (late_mcp.transports.http_connections);
  refuses a non-loopback bind without authentication, or with a LATE_MCP_TOKEN shorter than 32
  characters. Streamable HTTP also signs people in with OAuth (late_mcp.transports.oauth) when its
  issuer can be trusted (`oauth_problem`).
"""

from __future__ import annotations

import errno
import gc
import os
import signal
import socket
import sys
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from late_mcp.auth.stores import open_oauth_store, open_token_store
from late_mcp.config.http import HttpSettings, base_url, is_loopback, shared_token_problem
from late_mcp.config.settings import SANDBOX_MARK, Settings

EXIT_INTERRUPTED = 130
EXIT_USAGE = 2
TERMINAL_HINT = (
    "late-mcp: waiting for an MCP client on stdin (Claude Desktop and other clients start it like "
    "this; typed text is not understood). To try it by hand: `late-mcp tools` lists the tools, "
    "`late-mcp call --sandbox profiles_list` runs one, `late-mcp --sandbox --transport http` serves "
    "http://127.0.0.1:8000/mcp. Ctrl-C stops it."
)
if TYPE_CHECKING:
    from late_mcp.auth.oauth_store import OAuthStore

SSE_DEPRECATED = (
    "late-mcp: warning: the SSE transport is deprecated (MCP replaced it with streamable HTTP, and "
    "clients on protocol 2026-07-28 use only that); serve --transport http unless a client still "
    "needs /sse."
)
ASGIApp = Any  # Starlette's (scope, receive, send) callable; typed loosely to keep imports lazy


def serve(settings: Settings, http: HttpSettings) -> int:
    """Run until the client goes away (stdio) or the process is stopped (HTTP)."""
    # Start-up builds a heap that lives as long as the process (the SDK's and our modules, tool
    # schemas, validators): collecting it while it grows is wasted work. _settle_heap freezes it
    # and turns the collector back on before the first message is read.
    gc.disable()
    try:
        return _serve(settings, http)
    finally:
        gc.enable()


def _serve(settings: Settings, http: HttpSettings) -> int:
    from late_mcp.server.build import build_server

    if settings.transport != "stdio":
        return serve_http(settings, http)
    server = build_server(settings, read_only=settings.read_only)
    signal.signal(signal.SIGINT, _stop_at_once)
    if sys.stdin.isatty():
        print(TERMINAL_HINT, file=sys.stderr, flush=True)
    from late_mcp.transports.stdio import run_stdio  # every line answered, invalid UTF-8 refused

    _settle_heap()
    run_stdio(server)
    return 0


def serve_http(settings: Settings, http: HttpSettings) -> int:
    """Streamable HTTP or SSE behind the guard layer (late_mcp.transports.http_app), served by uvicorn on a
    socket bound here, so a port in use or a wrong host is one line, not a traceback."""
    import uvicorn

    from late_mcp.server.build import build_server
    from late_mcp.transports.http_app import authentication_required, build_http_app
    from late_mcp.transports.http_connections import (
        connection_budget,
        guarded_protocol,
        raise_open_file_limit,
    )

    signal.signal(signal.SIGINT, _stop_at_once)  # until uvicorn takes over: nothing to finish yet
    problem = shared_token_problem(http)
    if problem is not None:
        return _refuse(problem)
    store = open_token_store(http)
    oauth_off = oauth_problem(http)
    oauth_store = open_oauth_store(http) if oauth_off is None else None
    required = authentication_required(http, store) or (oauth_store is not None and oauth_in_use(oauth_store))
    if not is_loopback(http.host) and not required:
        store.close()
        return _refuse(
            f"refusing to serve on {http.host} without authentication: anyone who can reach this "
            "machine could publish with your Late key. Set LATE_MCP_TOKEN (a long random secret "
            "clients send as `Authorization: Bearer ...`), create tokens with `late-mcp token create "
            "NAME`, or bind to 127.0.0.1."
        )
    try:
        sock = bind_socket(http.host, http.port)
    except BindError as exc:
        store.close()
        return _refuse(str(exc))
    server = build_server(settings, read_only=settings.read_only)
    app = build_http_app(server, http, store, required=required, oauth_store=oauth_store)
    where = f"http://{_shown(http.host)}:{http.port}" + ("/sse" if http.transport == "sse" else "/mcp")
    kind = (
        "SSE" if http.transport == "sse" else "streamable HTTP" + (" (stateless)" if http.stateless else "")
    )
    auth = "token required" if required else "no authentication, local only"
    signs_in = f"; OAuth sign-in at {base_url(http)}" if oauth_store is not None else ""
    mode = f"{SANDBOX_MARK} " if settings.sandbox else ""
    if http.transport == "sse":
        print(SSE_DEPRECATED, file=sys.stderr, flush=True)
    print(
        f"late-mcp: {mode}{kind} on {where} ({auth}){signs_in}; Ctrl-C stops it.", file=sys.stderr, flush=True
    )
    if oauth_off is not None and oauth_off != "off":
        print(f"late-mcp: {oauth_off}", file=sys.stderr, flush=True)
    from late_mcp.rules.weigh import preload

    preload()  # what a tool would import on first use is imported now, and frozen with the rest
    _settle_heap()
    app = _settled_after_startup(app)
    connections, accept_batch = connection_budget(raise_open_file_limit(), http.max_connections)
    config = uvicorn.Config(
        app,
        log_config=None,  # no handlers of its own: its records reach the one scrubbing stderr handler
        log_level=settings.log_level.lower(),
        lifespan="on",
        timeout_graceful_shutdown=3,
        server_header=False,
        http=guarded_protocol(connections, http.header_timeout),
        ws="none",  # no WebSocket endpoint exists
        timeout_keep_alive=5,
        backlog=accept_batch,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn handles the first Ctrl-C; this is the impatient second one
        return EXIT_INTERRUPTED
    finally:
        sock.close()
        store.close()
        if oauth_store is not None:
            oauth_store.close()
    return 0


def oauth_problem(http: HttpSettings) -> str | None:
    """Why OAuth sign-in cannot be served (None: it is served). It is on for streamable HTTP unless
    LATE_MCP_OAUTH is off, and needs an issuer clients can trust: https (LATE_MCP_PUBLIC_URL), or
    loopback while serving on loopback."""
    if http.transport != "http" or http.oauth is False:
        return "off"
    base = base_url(http)
    host = urlsplit(base).hostname or ""
    if base.startswith("https://") or (is_loopback(host) and (http.public_url or is_loopback(http.host))):
        return None
    return (
        f"OAuth sign-in is off: {base} is not an https address. Set LATE_MCP_PUBLIC_URL to the https "
        "address clients reach this server at (behind a TLS proxy), or LATE_MCP_OAUTH=off to silence this."
    )


def oauth_in_use(store: OAuthStore) -> bool:
    """A user or a grant exists (or the store cannot be asked): then every request needs a token."""
    from late_mcp.auth.tokens import TokenStoreUnavailable

    try:
        return store.in_use()
    except TokenStoreUnavailable:
        return True


def _settle_heap() -> None:
    """Move what start-up built (modules, tool schemas, pydantic validators) out of the garbage
    collector's sight. Without this every full collection walks it all again: 20-50 ms pauses in
    the middle of answering, the slowest calls under load (benchmarks/http_load.py).

    The collector was off while the heap was built (serve); it is turned on here. No full
    collection first: it would walk that whole heap once more (40-60 ms of cold start) to free the
    start-up's leftovers, which stay frozen instead (about 1 MB)."""
    gc.freeze()
    gc.enable()


def _settled_after_startup(app: ASGIApp) -> ASGIApp:
    """The app, freezing the heap once more when its lifespan has started: what start-up opened
    there (the one Late client and its TLS context, the journal, the SDK's session manager) lives
    as long as the process, so full collections need not walk it either."""

    async def settled(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            if message["type"] == "lifespan.startup.complete":
                gc.freeze()
            await send(message)

        await app(scope, receive, sending)

    return settled


class BindError(Exception):
    """The address cannot be served on; the message says why and what to change."""


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or a BindError with the fix."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        raise BindError(
            f"cannot serve on host {host!r}: it is not an address or name this machine knows. "
            "Use --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)."
        ) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise BindError(
                f"port {port} on {host} is already in use (another late-mcp?). Stop that process "
                "or pick a free port with --port (or LATE_MCP_PORT)."
            ) from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise BindError(
                f"not allowed to listen on port {port}; ports below 1024 need privileges. "
                "Use a port such as 8000 (--port or LATE_MCP_PORT)."
            ) from None
        raise BindError(
            f"cannot serve on {host}:{port}: {exc.strerror or exc}. {host!r} is probably not an "
            "address of this machine; use --host 127.0.0.1 or --host 0.0.0.0."
        ) from None
    sock.set_inheritable(True)
    return sock


def _refuse(message: str) -> int:
    print(f"late-mcp: {message}", file=sys.stderr, flush=True)
    return EXIT_USAGE


def _shown(host: str) -> str:
    if host in {"0.0.0.0", "::", ""}:
        return "localhost"
    return f"[{host}]" if ":" in host else host


def _stop_at_once(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C on stdio: the SDK reads stdin in a thread no cancellation can interrupt, so a
    graceful shutdown would wait for the next line of input. Every journal write is already
    committed (SQLite), so leaving now loses nothing."""
    sys.stderr.write("late-mcp: stopped.\n")
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)
