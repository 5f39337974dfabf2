"""Serve the server on a transport."""

from __future__ import annotations

import sys

from late_mcp.config import Settings


def serve(settings: Settings, *, host: str, port: int) -> int:
    """Run until the client goes away (stdio) or the process is stopped (HTTP)."""
    from late_mcp.server import build_server

    server = build_server(settings, read_only=settings.read_only)
    if settings.transport == "stdio":
        server.run("stdio")
    elif settings.transport == "sse":
        print(f"late-mcp: SSE on http://{host}:{port}/sse", file=sys.stderr, flush=True)
        server.run("sse", host=host, port=port)
    else:
        print(f"late-mcp: streamable HTTP on http://{host}:{port}/mcp", file=sys.stderr, flush=True)
        server.run("streamable-http", host=host, port=port)
    return 0
