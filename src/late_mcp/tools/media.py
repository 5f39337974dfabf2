"""Media: upload local files for the user, or hand out a presigned upload link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from late_mcp.mediafile import MediaFileError, inspect_media_file
from late_mcp.platforms import CONTENT_TYPES, MAX_UPLOAD_BYTES, content_type_for, supported_extensions
from late_mcp.tools._common import ToolInputError, app, ok, tool

UPLOAD_LINK_LIFETIME = timedelta(hours=1)


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


@tool("media", "Get an upload link", "create")
async def media_upload_link(
    filename: Annotated[
        str, Field(description="Name with extension, e.g. a.mp4.", min_length=1, max_length=255)
    ],
    ctx: Context,
    content_type: Annotated[
        str | None, Field(description="MIME type; default from filename.", max_length=100)
    ] = None,
    size_bytes: Annotated[
        int | None, Field(description="File size, checked up front.", ge=1, le=MAX_UPLOAD_BYTES)
    ] = None,
) -> CallToolResult:
    """Presigned URL (1 hour) to PUT a file to, and the public_url for posts_create. Local
    files: media_upload_file."""
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
            description="Absolute path on this computer.",
            min_length=1,
            max_length=4096,
        ),
    ],
    ctx: Context,
) -> CallToolResult:
    """Upload an image, video or PDF from this computer (up to 5 GB); returns public_url for
    posts_create."""
    try:
        media = await inspect_media_file(path)
    except MediaFileError as exc:
        raise ToolInputError(str(exc)) from None
    client = app(ctx).client
    link = await client.presign(media.path.name, media.content_type, media.size)
    await client.upload_file(link.upload_url, media.path, media.content_type, media.size)
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
