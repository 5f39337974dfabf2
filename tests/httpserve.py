"""Serve late-mcp's real HTTP app in-process (uvicorn on a real socket) against the test sandbox."""

from __future__ import annotations

import dataclasses
import socket
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
async def serving(app: Any, sock: socket.socket, *, lifespan: str = "on") -> AsyncIterator[str]:
    """Serve the ASGI `app` with uvicorn on the bound loopback `sock` until the block ends; yields
    its base URL (http://127.0.0.1:PORT). The socket is closed afterwards."""
    config = uvicorn.Config(app, lifespan=lifespan, log_level="warning", timeout_graceful_shutdown=1)
    web = uvicorn.Server(config)
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(web.serve, [sock])
            while not web.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
                await anyio.sleep(0.01)
            try:
                yield f"http://127.0.0.1:{sock.getsockname()[1]}"
            finally:
                web.should_exit = True
    finally:
        sock.close()


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
    http = dataclasses.replace(http, port=int(sock.getsockname()[1]))
    server = build_server(
        make_settings(transport=http.transport, **settings), transport=transport, tools=tools
    )
    async with serving(build_http_app(server, http, store, oauth_store=oauth_store), sock) as base:
        yield base


def connect(base: str, token: str | None = None, *, sse: bool = False, **headers: str) -> Client:
    """An SDK client for the server at `base`, sending `token` as a bearer token."""
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if sse:
        return Client(sse_client(f"{base}/sse", headers=headers), mode="legacy")  # type: ignore[arg-type]
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300))
    return Client(streamable_http_client(f"{base}/mcp", http_client=http))  # type: ignore[arg-type]
