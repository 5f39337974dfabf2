"""Our stdio transport: every line is checked (rpcline) before the SDK's server sees it.

It feeds the server the way the SDK's own `stdio_server()` does (a stream of `SessionMessage`s in,
one out, each message written as one line of JSON), with two differences: a line that cannot be
used is answered with a JSON-RPC error instead of vanishing, and input bytes are decoded strictly
(invalid UTF-8 is refused, not replaced). Like the SDK's transport it moves fd 0 and fd 1 out of
the way while serving (stdin to the null device, stdout to stderr), so a stray print can never
corrupt the JSON-RPC stream.

Where it cannot run (no descriptors to claim, or an SDK whose server cannot be run on given streams:
server/sdk_adapter.py) the SDK's own stdio transport serves instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, BinaryIO

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.mcpserver import MCPServer
from mcp.shared.message import SessionMessage

from late_mcp.server.sdk_adapter import StreamRunner, stream_runner
from late_mcp.transports.rpcline import check_line

log = logging.getLogger("late_mcp.stdio")
DRAIN_SECONDS = 5.0


class _CannotRun(Exception):
    """This process offers no way to claim stdin/stdout; the SDK's transport takes over."""


def run_stdio(server: MCPServer[Any]) -> None:
    """Serve `server` on stdin/stdout until the client closes stdin."""
    serve_session = stream_runner(server)
    if serve_session is None:
        server.run("stdio")
        return
    try:
        wire = _claim_std_fds()
    except _CannotRun as exc:
        log.info("checked stdio transport unavailable (%s); using the SDK's", exc)
        server.run("stdio")
        return
    try:
        anyio.run(_serve, serve_session, wire)
    finally:
        _restore_std_fds(wire)


async def _serve(serve_session: StreamRunner, wire: tuple[int, int, int, int]) -> None:
    wire_in, wire_out = os.fdopen(wire[0], "rb", closefd=False), os.fdopen(wire[1], "wb", closefd=False)
    async with checked_streams(wire_in, wire_out) as (read_stream, write_stream):
        await serve_session(read_stream, write_stream)


@asynccontextmanager
async def checked_streams(
    stdin: BinaryIO, stdout: BinaryIO
) -> AsyncIterator[
    tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]
]:
    """(read stream, write stream) for a server, over binary line streams; bad lines are answered."""
    read_send, read_receive = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_send, write_receive = anyio.create_memory_object_stream[SessionMessage](0)
    replies = write_send.clone()  # the reader's own way to the writer, for its error answers
    written = anyio.Event()

    async def reader() -> None:
        async with read_send, replies:
            while line := await anyio.to_thread.run_sync(stdin.readline, abandon_on_cancel=True):
                checked = check_line(line)
                if checked is None:
                    continue
                if isinstance(checked, list):
                    log.info("unusable stdin line; answered with %s", [e.error.code for e in checked])
                    for error in checked:
                        await replies.send(SessionMessage(error))
                    continue
                await read_send.send(SessionMessage(checked))

    async def writer() -> None:
        try:
            async with write_receive:
                async for message in write_receive:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await anyio.to_thread.run_sync(_write_line, stdout, data.encode("utf-8", "replace"))
        finally:
            written.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        tg.start_soon(writer)
        try:
            yield read_receive, write_send
        finally:
            await write_send.aclose()  # the writer ends once the reader has gone too (stdin closed)
            with anyio.move_on_after(DRAIN_SECONDS):
                await written.wait()
            tg.cancel_scope.cancel()


def _write_line(stdout: BinaryIO, data: bytes) -> None:
    stdout.write(data + b"\n")
    stdout.flush()


def _claim_std_fds() -> tuple[int, int, int, int]:
    """Keep private copies of fd 0/1 for the wire; point fd 0 at the null device and fd 1 at
    stderr. Returns (wire in, wire out, saved 0, saved 1)."""
    try:
        wire_in, wire_out = os.dup(0), os.dup(1)
    except OSError as exc:
        raise _CannotRun(f"cannot duplicate stdin/stdout: {exc.strerror}") from None
    try:
        saved_in, saved_out = os.dup(0), os.dup(1)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)
    except OSError as exc:
        for fd in (wire_in, wire_out):
            os.close(fd)
        raise _CannotRun(f"cannot move stdin/stdout aside: {exc.strerror}") from None
    return wire_in, wire_out, saved_in, saved_out


def _restore_std_fds(wire: tuple[int, int, int, int]) -> None:
    _, _, saved_in, saved_out = wire
    for saved, fd in ((saved_in, 0), (saved_out, 1)):
        try:
            os.dup2(saved, fd)
            os.close(saved)
        except OSError:
            pass
