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


# How each client is pointed at a late-mcp over HTTP: the one source for this page and the
# README's "Over HTTP" lines (tests/test_http_transports.py checks the README against it).
HTTP_CLIENTS: tuple[tuple[str, str], ...] = (
    ("Claude Code", "claude mcp add --transport http late {url}"),
    ("Cursor", '{{ "mcpServers": {{ "late": {{ "url": "{url}" }} }} }}'),
    ("VS Code", '{{ "servers": {{ "late": {{ "type": "http", "url": "{url}" }} }} }}'),
    ("Windsurf", '{{ "mcpServers": {{ "late": {{ "serverUrl": "{url}" }} }} }}'),
    ("MCP Inspector", "npx @modelcontextprotocol/inspector --cli {url} --transport http --method tools/list"),
)


def client_settings(endpoint: str) -> list[tuple[str, str]]:
    """Each client's setting (a command or a config entry) for the server at `endpoint`."""
    return [(client, template.format(url=endpoint)) for client, template in HTTP_CLIENTS]


def browser_page(endpoint: str) -> bytes:
    url = html.escape(endpoint)
    clients = "\n".join(
        f"<li>{html.escape(client)}: <code>{html.escape(setting)}</code></li>"
        for client, setting in client_settings(endpoint)
    )
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
{clients}
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
