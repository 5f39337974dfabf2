"""Media: upload local files for the user, or hand out a presigned upload link."""

from __future__ import annotations

import logging
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import anyio
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from late_mcp.mediafile import MediaFileError, inspect_media_file
from late_mcp.platforms import CONTENT_TYPES, MAX_UPLOAD_BYTES, content_type_for, supported_extensions
from late_mcp.tools._common import ToolInputError, app, ok, tool

log = logging.getLogger(__name__)
UPLOAD_LINK_LIFETIME = timedelta(hours=1)
ROOTS_TIMEOUT = 5.0
HTTP_WITHOUT_FOLDERS = (
    "media_upload_file is off over HTTP: the server's disk is not the user's. Use "
    "media_browser_upload_start (the person uploads in a browser) or media_upload_link; the server's "
    "operator can allow folders on the server with LATE_MEDIA_DIRS."
)


class UploadLink(BaseModel):
    upload_url: str
    public_url: str
    content_type: str
    media_type: str
    expires_at: str


class Uploaded(BaseModel):
    public_url: str
    media_type: str
    content_type: str
    size_bytes: int
    filename: str


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
            folders.append(Path(url2pathname(unquote(uri.path))))
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


@tool("media", "Get an upload link", "create")
async def media_upload_link(
    filename: Annotated[
        str, Field(description="File name with extension, e.g. launch.mp4.", min_length=1, max_length=255)
    ],
    ctx: Context,
    content_type: Annotated[
        str | None, Field(description="MIME type; guessed from filename if omitted.", max_length=100)
    ] = None,
    size_bytes: Annotated[
        int | None, Field(description="File size, checked up front.", ge=1, le=MAX_UPLOAD_BYTES)
    ] = None,
) -> CallToolResult:
    """Get a presigned URL (valid 1 hour) to PUT a file to, plus the public_url to use in
    posts_create(media_urls=...). For a file on this computer use media_upload_file instead."""
    if "/" in filename or "\\" in filename:
        raise ToolInputError("filename must be a bare file name without folders, e.g. launch.mp4.")
    kind = content_type or content_type_for(filename)
    if kind is None or kind not in CONTENT_TYPES:
        raise ToolInputError(
            f"Unsupported file type for {filename!r}{f' ({content_type})' if content_type else ''}. "
            f"Late accepts {', '.join(sorted(CONTENT_TYPES))} (extensions {supported_extensions()})."
        )
    link = await app(ctx).client.presign(filename, kind, size_bytes)
    expires = (datetime.now(UTC) + UPLOAD_LINK_LIFETIME).isoformat(timespec="seconds")
    return ok(
        ctx,
        f"PUT the file to upload_url with header Content-Type: {kind} before {expires}; then use "
        "public_url in posts_create.",
        UploadLink(
            upload_url=link.upload_url,
            public_url=link.public_url,
            content_type=kind,
            media_type=CONTENT_TYPES[kind],
            expires_at=expires,
        ),
    )


@tool("media", "Upload a local file", "create")
async def media_upload_file(
    path: Annotated[
        str,
        Field(
            description="Absolute path of an image, video or PDF on this computer.",
            min_length=1,
            max_length=4096,
        ),
    ],
    ctx: Context,
) -> CallToolResult:
    """Upload an image, video or PDF from this computer to Late (streamed, up to 5 GB). Returns
    the public_url for posts_create(media_urls=[...])."""
    folders, show_folders = await allowed_folders(ctx)
    try:
        media = await inspect_media_file(path, folders, show_folders=show_folders)
    except MediaFileError as exc:
        raise ToolInputError(str(exc)) from None
    client = app(ctx).client
    try:
        link = await client.presign(media.path.name, media.content_type, media.size)
        await client.upload_file(
            link.upload_url, media.handle, media.content_type, media.size, name=media.path.name
        )
    finally:
        media.close()
    return ok(
        ctx,
        f"Uploaded {media.path.name} ({media.size} bytes): {link.public_url}",
        Uploaded(
            public_url=link.public_url,
            media_type=media.media_type,
            content_type=media.content_type,
            size_bytes=media.size,
            filename=media.path.name,
        ),
    )


TOOLS = (media_upload_link, media_upload_file)
