"""The page a browser gets at the HTTP endpoint: what late-mcp is and how to add it to a client."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlsplit

from late_mcp import __version__

ASGIApp = Any  # Starlette's (scope, receive, send) callable; typed loosely to keep imports lazy


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
