"""The floor: the smallest server on the same SDK that makes the same requests as late-mcp.

    python benchmarks/minimal_server.py            (stdio; LATE_BASE_URL and LATE_API_KEY as for late-mcp)

One shared httpx2 client, opened in the lifespan like late-mcp's. `profiles_list` sends the same
GET /v1/profiles and returns Late's answer as it came; `media_upload_file` presigns and streams the
file with one PUT, as late-mcp does. No checks, no retries, no journal: whatever late-mcp costs
above this is the price of what it adds. `ping` answers without the network.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp.server.mcpserver import Context, MCPServer

CHUNK = 1024 * 1024


@asynccontextmanager
async def lifespan(_: MCPServer[Any]) -> AsyncIterator[dict[str, httpx2.AsyncClient]]:
    base = os.environ.get("LATE_BASE_URL", "http://127.0.0.1:9/api").rstrip("/") + "/"
    async with httpx2.AsyncClient(base_url=base, timeout=600) as client:
        yield {"client": client}


def _auth() -> dict[str, str]:
    """The key goes to the API only, never to the upload host (as in late-mcp)."""
    return {"Authorization": f"Bearer {os.environ.get('LATE_API_KEY', '')}"}


server: MCPServer[dict[str, httpx2.AsyncClient]] = MCPServer("minimal", lifespan=lifespan)


def _client(ctx: Context[dict[str, httpx2.AsyncClient], Any]) -> httpx2.AsyncClient:
    return ctx.request_context.lifespan_context["client"]


@server.tool()
async def ping() -> str:
    """Answer pong."""
    return "pong"


@server.tool()
async def profiles_list(ctx: Context[dict[str, httpx2.AsyncClient], Any]) -> str:
    """List profiles."""
    response = await _client(ctx).get("v1/profiles", headers=_auth())
    response.raise_for_status()
    return response.text


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as handle:
        while chunk := await handle.read(CHUNK):
            yield chunk


@server.tool()
async def media_upload_file(path: str, ctx: Context[dict[str, httpx2.AsyncClient], Any]) -> str:
    """Upload a local MP4 file."""
    file = Path(path)
    size = (await anyio.Path(file).stat()).st_size
    client = _client(ctx)
    presigned = await client.post(
        "v1/media/presign",
        json={"filename": file.name, "contentType": "video/mp4", "size": size},
        headers=_auth(),
    )
    presigned.raise_for_status()
    link = presigned.json()
    response = await client.put(
        link["uploadUrl"],
        content=_chunks(file),
        headers={"Content-Type": "video/mp4", "Content-Length": str(size)},
    )
    response.raise_for_status()
    return str(link["publicUrl"])


if __name__ == "__main__":
    server.run("stdio")
