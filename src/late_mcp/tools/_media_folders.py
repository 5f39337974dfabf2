"""Where media_upload_file may read: LATE_MEDIA_DIRS; else over stdio the client's MCP roots,
else the user's home folder; over HTTP nothing unless LATE_MEDIA_DIRS is set."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import anyio
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPDeprecationWarning

from late_mcp.tools._common import ToolInputError, app

log = logging.getLogger(__name__)
ROOTS_TIMEOUT = 5.0
HTTP_WITHOUT_FOLDERS = (
    "media_upload_file is off over HTTP: the server's disk is not the user's. Use "
    "media_browser_upload_start (the person uploads in a browser) or media_upload_link; the server's "
    "operator can allow folders on the server with LATE_MEDIA_DIRS."
)


async def client_roots(ctx: Context) -> list[Path]:
    """The local folders the client offers as MCP roots (file:// URIs), or [] when it offers none."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.roots is None:
        return []
    try:
        with warnings.catch_warnings(), anyio.fail_after(ROOTS_TIMEOUT):
            warnings.simplefilter("ignore", MCPDeprecationWarning)  # roots: deprecated from 2026-07-28
            listed = await ctx.session.list_roots()
    except Exception as exc:  # a client that declares roots but cannot list them offers none
        log.info("the client did not list its roots (%s)", type(exc).__name__)
        return []
    folders = []
    for root in listed.roots:
        uri = urlsplit(str(root.uri))
        if uri.scheme == "file" and uri.netloc in {"", "localhost"}:
            folders.append(Path(url2pathname(uri.path)))  # it decodes %-escapes itself
    return folders


async def allowed_folders(ctx: Context) -> tuple[list[Path], bool]:
    """Where media_upload_file may read, and whether a refusal may name those folders:
    LATE_MEDIA_DIRS; else over stdio the client's roots, else the user's home folder."""
    settings = app(ctx).settings
    if settings.media_dirs:
        return list(settings.media_dirs), settings.transport == "stdio"
    if settings.transport != "stdio":
        raise ToolInputError(HTTP_WITHOUT_FOLDERS)
    return (await client_roots(ctx)) or [Path.home()], True
