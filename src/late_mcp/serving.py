"""Serve the server on a transport, with the courtesies people need around it.

- stdio: our own transport (late_mcp.stdio) answers every line, even one the SDK cannot parse;
  started by hand in a terminal it says, on stderr, that it waits for an MCP client and
  how to try it instead; Ctrl-C ends it at once with status 130 and no traceback.
- streamable HTTP: the SDK's own Starlette app (`streamable_http_app()`, with its host checks)
  served by uvicorn, plus a short HTML page for a browser that opens the endpoint.
"""

from __future__ import annotations

import html
import os
import signal
import sys
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from late_mcp import __version__
from late_mcp.config import Settings

EXIT_INTERRUPTED = 130
TERMINAL_HINT = (
    "late-mcp: waiting for an MCP client on stdin (Claude Desktop and other clients start it like "
    "this; typed text is not understood). To try it by hand: `late-mcp tools` lists the tools, "
    "`late-mcp call --sandbox profiles_list` runs one, `late-mcp --sandbox --transport http` serves "
    "http://127.0.0.1:8000/mcp. Ctrl-C stops it."
)
ASGIApp = Any  # Starlette's (scope, receive, send) callable; typed loosely to keep imports lazy


def serve(settings: Settings, *, host: str, port: int) -> int:
    """Run until the client goes away (stdio) or the process is stopped (HTTP)."""
    from late_mcp.server import build_server

    server = build_server(settings, read_only=settings.read_only)
    if settings.transport == "stdio":
        signal.signal(signal.SIGINT, _stop_at_once)
        if sys.stdin.isatty():
            print(TERMINAL_HINT, file=sys.stderr, flush=True)
        from late_mcp.stdio import run_stdio  # every line answered, invalid UTF-8 refused

        run_stdio(server)
    elif settings.transport == "sse":
        print(f"late-mcp: SSE on http://{host}:{port}/sse", file=sys.stderr, flush=True)
        server.run("sse", host=host, port=port)
    else:
        import uvicorn

        shown = "localhost" if host in {"0.0.0.0", "::", ""} else host
        app = with_browser_page(server.streamable_http_app(host=host), f"http://{shown}:{port}/mcp")
        print(f"late-mcp: streamable HTTP on http://{host}:{port}/mcp", file=sys.stderr, flush=True)
        try:
            uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower())
        except KeyboardInterrupt:  # uvicorn handles the first Ctrl-C; this is the impatient second one
            return EXIT_INTERRUPTED
    return 0


def _stop_at_once(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C on stdio: the SDK reads stdin in a thread no cancellation can interrupt, so a
    graceful shutdown would wait for the next line of input. Every journal write is already
    committed (SQLite), so leaving now loses nothing."""
    sys.stderr.write("late-mcp: stopped.\n")
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def wants_page(scope: dict[str, Any], path: str) -> bool:
    """A plain browser visit: GET on the endpoint, asking for HTML, with no MCP session or stream."""
    if scope["type"] != "http" or scope["method"] != "GET" or scope["path"].rstrip("/") != path:
        return False
    headers = {name.lower(): value for name, value in scope["headers"]}
    accept = headers.get(b"accept", b"").decode("latin-1").lower()
    return "text/html" in accept and "text/event-stream" not in accept and b"mcp-session-id" not in headers


def browser_page(endpoint: str) -> bytes:
    url = html.escape(endpoint)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>late-mcp</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:44em;margin:3em auto;padding:0 1em}}
code,pre{{background:#f3f3f3;padding:.1em .3em}}pre{{padding:.6em;overflow-x:auto}}</style></head>
<body><h1>late-mcp {__version__}</h1>
<p>This is an <a href="https://modelcontextprotocol.io">MCP</a> server for the
<a href="https://getlate.dev">Late</a> social media API. It talks to MCP clients, not to browsers:
add this address to a client as a <em>streamable HTTP</em> server.</p>
<pre>{url}</pre>
<ul>
<li>Claude Code: <code>claude mcp add --transport http late {url}</code></li>
<li>Cursor, VS Code, Windsurf: a server entry with <code>"url": "{url}"</code></li>
<li>MCP Inspector: <code>npx @modelcontextprotocol/inspector</code>, transport <code>http</code>,
URL <code>{url}</code></li>
</ul>
<p>Without a client: <code>late-mcp tools</code> lists the tools,
<code>late-mcp --sandbox call profiles_list</code> runs one,
<code>late-mcp doctor</code> checks the setup.</p>
</body></html>
""".encode()


def with_browser_page(app: ASGIApp, endpoint: str) -> ASGIApp:
    """Wrap the SDK's app: a browser GET on the endpoint gets a short page; all else passes through.
    The page is static (it never echoes the request), so the SDK's host checks lose nothing."""
    path = urlsplit(endpoint).path
    body = browser_page(endpoint)

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not wants_page(scope, path):
            await app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return wrapped
