"""Media: upload local files, hand out a presigned upload link, or let a person upload in a browser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.core.outside import quoted, word
from late_mcp.core.platforms import CONTENT_TYPES, MAX_UPLOAD_BYTES, content_type_for, supported_extensions
from late_mcp.core.toolsets import Domain
from late_mcp.media.file import MediaFileError, inspect_media_file
from late_mcp.safety.idempotency import IdempotencyKey
from late_mcp.tools._common import ToolInputError, app, ok, plural, tool
from late_mcp.tools._media_folders import HTTP_WITHOUT_FOLDERS, allowed_folders
from late_mcp.tools._uploads import (
    FileOutcome,
    Watcher,
    upload_many,
    upload_one,
    upload_tokens,
)
from late_mcp.tools._views import View

__all__ = ["HTTP_WITHOUT_FOLDERS"]
UPLOAD_LINK_LIFETIME = timedelta(hours=1)
MAX_FILES = 20
_UNPUBLISHED = 1000  # limits this large are enforced but left out of tools/list (server/schema.py)


class UploadLink(View):
    upload_url: str
    public_url: str
    content_type: str
    media_type: str
    expires_at: str


class BrowserUpload(View):
    token: str
    upload_url: str
    expires_at: str | None = None


class BrowserFile(View):
    public_url: str
    filename: str | None = None
    content_type: str | None = None
    media_type: str | None = None
    size_bytes: int | None = None


class BrowserUploadStatus(View):
    token: str
    status: str
    files: list[BrowserFile] = Field(default_factory=list)
    expires_at: str | None = None


class UploadedFiles(View):
    uploaded: int
    failed: int
    files: list[FileOutcome]


@tool(Domain.MEDIA, "create")
async def media_upload_link(
    filename: Annotated[str, Field(description="Name with extension, e.g. launch.mp4.", min_length=1)],
    ctx: Context,
    content_type: Annotated[
        str | None, Field(description="MIME type (default: from filename).", max_length=_UNPUBLISHED)
    ] = None,
    size_bytes: Annotated[
        int | None, Field(description="File size, checked up front.", ge=1, le=MAX_UPLOAD_BYTES)
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> CallToolResult:
    """Presigned PUT URL (1 hour) and its public_url; for local files use media_upload_file."""
    if len(filename) > 255:
        raise ToolInputError("filename is longer than 255 characters; shorten it.")
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


_Path = Annotated[str, Field(max_length=4096)]


@tool(Domain.MEDIA, "create")
async def media_upload_file(
    path: Annotated[
        _Path | Annotated[list[_Path], Field(min_length=1, max_length=MAX_FILES)],
        Field(description="Absolute path, or a list of up to 20."),
    ],
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
) -> CallToolResult:
    """Upload local images, videos or PDFs (5 GB each, with progress); returns each public_url."""
    folders, show_folders = await allowed_folders(ctx)
    if isinstance(path, list):
        return _many(ctx, await upload_many(ctx, path, folders, show_folders))
    try:
        media = await inspect_media_file(
            path, folders, show_folders=show_folders, browser_upload=app(ctx).client.offers_browser_uploads
        )
    except MediaFileError as exc:
        raise ToolInputError(str(exc)) from None
    uploaded = await upload_one(ctx, media, Watcher(ctx, media.size))
    where = word(uploaded.public_url, 2000)
    return ok(ctx, f"Uploaded {quoted(uploaded.filename)} ({uploaded.size_bytes} bytes): {where}", uploaded)


def _many(ctx: Context, outcomes: list[FileOutcome]) -> CallToolResult:
    done = [o.uploaded for o in outcomes if o.uploaded is not None]
    failed = [o for o in outcomes if o.uploaded is None]
    if not done:
        raise ToolInputError(
            f"None of the {plural(len(outcomes), 'file')} was uploaded. "
            + " ".join(f"{o.path}: {o.error}" for o in failed)
        )
    summary = f"Uploaded {len(done)} of {plural(len(outcomes), 'file')}: " + ", ".join(
        f"{quoted(u.filename)} {word(u.public_url, 2000)}" for u in done
    )
    if failed:
        summary += f". {len(failed)} failed (files[].error says why): " + ", ".join(o.path for o in failed)
    return ok(ctx, summary, UploadedFiles(uploaded=len(done), failed=len(failed), files=outcomes))


# "read": it changes nothing the user owns (an unused link just expires), so clients may allow it
# without asking, and read-only mode keeps it.
@tool(Domain.MEDIA, "create")
async def media_browser_upload_start(ctx: Context, idempotency_key: IdempotencyKey = None) -> CallToolResult:
    """A link the person opens to upload files; then media_browser_upload_status."""
    context = app(ctx)
    tokens = await upload_tokens(context.secret)  # refused before anything is sent without the secret
    started = await context.client.create_upload_token()
    return ok(
        ctx,
        f"Ask the person to open {started.upload_url} and upload their files"
        + (f" before {started.expires_at}" if started.expires_at else "")
        + "; when they say done, call media_browser_upload_status with the token.",
        BrowserUpload(
            token=tokens.handle(started.token),
            upload_url=started.upload_url,
            expires_at=started.expires_at,
        ),
    )


@tool(Domain.MEDIA, "read")
async def media_browser_upload_status(
    token: Annotated[str, Field(description="From media_browser_upload_start.", max_length=_UNPUBLISHED)],
    ctx: Context,
) -> CallToolResult:
    """Pending, completed (each file's public_url) or expired."""
    if not token.strip():
        raise ToolInputError("token is empty; pass the token media_browser_upload_start returned.")
    context = app(ctx)
    tokens = await upload_tokens(context.secret)
    found = await context.client.upload_token_status(tokens.late_token(token))
    files = [
        BrowserFile(
            public_url=f.url,
            filename=f.filename,
            content_type=f.mime_type,
            media_type=f.type,
            size_bytes=f.size,
        )
        for f in found.files
    ]
    if found.status == "completed":
        summary = f"{plural(len(files), 'file')} uploaded; use each public_url in posts_create(media_urls)."
    elif found.status == "expired":
        summary = "The upload link expired; start a new one with media_browser_upload_start."
    else:
        summary = "Nothing uploaded yet; ask the person to finish on the page, then check again."
    return ok(
        ctx,
        summary,
        BrowserUploadStatus(token=token, status=found.status, files=files, expires_at=found.expires_at),
    )


class UploadPicker(View):
    accepted: dict[str, str]  # content type -> media type
    extensions: str
    max_bytes: int
    max_files: int


@tool(Domain.MEDIA, "local", app="upload")
async def media_upload_picker(ctx: Context) -> CallToolResult:
    """Let the person pick files to upload (hosts showing MCP Apps); returns public URLs."""
    shown = UploadPicker(
        accepted=dict(CONTENT_TYPES),
        extensions=supported_extensions(),
        max_bytes=MAX_UPLOAD_BYTES,
        max_files=MAX_FILES,
    )
    if client_supports_apps(ctx):
        summary = (
            "The upload picker is open: the person chooses files there; each is uploaded with "
            "media_upload_link and its public_url handed back for posts_create(media_urls)."
        )
    else:
        summary = (
            "This client shows no MCP Apps, so there is no picker here: use media_upload_link per file "
            "(the person PUTs the file to its upload_url), or media_browser_upload_start for a page."
        )
    return ok(ctx, summary, shown)
