"""Serve late-mcp's real HTTP app in-process (uvicorn on a real socket) against the test sandbox."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import uvicorn
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from conftest import make_settings
from late_mcp.auth.oauth_store import OAuthStore
from late_mcp.auth.tokens import TokenStore
from late_mcp.config.http import HttpSettings
from late_mcp.server.build import build_server
from late_mcp.tools import ALL_TOOLS, ToolDef
from late_mcp.transports.http_app import build_http_app
from late_mcp.transports.serving import bind_socket


@asynccontextmanager
async def running(
    transport: httpx2.AsyncBaseTransport,
    http: HttpSettings,
    store: TokenStore | None = None,
    *,
    tools: tuple[ToolDef, ...] = ALL_TOOLS,
    oauth_store: OAuthStore | None = None,
    **settings: Any,
) -> AsyncIterator[str]:
    """Yield the base URL (http://127.0.0.1:PORT) of a server bound to `http.host`, offering `tools`
    (with OAuth sign-in when given an `oauth_store`)."""
    sock = bind_socket(http.host, 0)
    port = int(sock.getsockname()[1])
    http = dataclasses.replace(http, port=port)
    server = build_server(
        make_settings(transport=http.transport, **settings), transport=transport, tools=tools
    )
    app = build_http_app(server, http, store, oauth_store=oauth_store)
    config = uvicorn.Config(app, lifespan="on", log_level="warning", timeout_graceful_shutdown=1)
    web = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(web.serve, [sock])
        while not web.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            web.should_exit = True
    sock.close()


def connect(base: str, token: str | None = None, *, sse: bool = False, **headers: str) -> Client:
    """An SDK client for the server at `base`, sending `token` as a bearer token."""
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if sse:
        return Client(sse_client(f"{base}/sse", headers=headers), mode="legacy")  # type: ignore[arg-type]
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300))
    return Client(streamable_http_client(f"{base}/mcp", http_client=http))  # type: ignore[arg-type]
