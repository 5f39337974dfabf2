"""The one place that reaches past the MCP SDK's public API (tests/test_sdk_seams.py gates it).

The SDK (2.x) can run an `MCPServer` on stdio or HTTP, and its in-memory `Client` on memory
streams, but offers no public way to run it on streams we give it: its own `run_stdio_async` and
`Client` reach the low-level server through `MCPServer._lowlevel_server`. Our stdio transport
checks every line before the server sees it, so it needs exactly that. Everything else (tool
registration, schemas, handlers, middleware) goes through public API.

When the SDK moves, `stream_runner` returns None (stdio then falls back to the SDK's own
transport) and tests/test_sdk_seams.py fails, naming this module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.mcpserver import MCPServer
from mcp.shared.message import SessionMessage

ReadStream = MemoryObjectReceiveStream[SessionMessage | Exception]
WriteStream = MemoryObjectSendStream[SessionMessage]
StreamRunner = Callable[[ReadStream, WriteStream], Awaitable[None]]
LOWLEVEL_ATTRIBUTE = "_lowlevel_server"  # what MCPServer.run_stdio_async drives


def stream_runner(server: MCPServer[Any]) -> StreamRunner | None:
    """A function serving one MCP session of `server` on the given streams until they close, as
    the SDK's own stdio transport does; None if this SDK offers no such object."""
    lowlevel = getattr(server, LOWLEVEL_ATTRIBUTE, None)
    run = getattr(lowlevel, "run", None)
    options = getattr(lowlevel, "create_initialization_options", None)
    if not callable(run) or not callable(options):
        return None

    async def serve(read_stream: ReadStream, write_stream: WriteStream) -> None:
        await run(read_stream, write_stream, options())

    return serve
