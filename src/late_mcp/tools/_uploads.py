"""Uploading local files people can watch, and browser-upload tokens bound to their caller.

Every file is opened and checked first (so the total is known), then streamed one after the other.
When the client asked for progress (a progress token on the call), it hears the bytes sent so
far against the total, at most about once per percent, with the current file's name. One file
failing does not stop or hide the others: each gets its own result.

A browser upload's token is handed out as Late's token plus an HMAC of it and the caller (key from
`late_mcp.safety.signing`, so every replica and `late-mcp call` check it alike). Only the caller that
started an upload can poll it: any other token, Late's bare one included, gets the same "not one
of yours" refusal without Late being asked, so it tells nothing about which tokens exist.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from mcp.server.mcpserver import Context

from late_mcp.auth.principal import caller_id
from late_mcp.core.outside import word
from late_mcp.late.errors import LateError
from late_mcp.media.file import MediaFile, MediaFileError, inspect_media_file
from late_mcp.safety.signing import SecretUnavailable, ServerSecret
from late_mcp.tools._common import ToolInputError, app
from late_mcp.tools._views import View

log = logging.getLogger(__name__)


class Uploaded(View):
    public_url: str
    media_type: str
    content_type: str
    size_bytes: int
    filename: str


class FileOutcome(View):
    """One path's result: the upload, or why it failed."""

    path: str
    uploaded: Uploaded | None = None
    error: str | None = None
    error_kind: str | None = None


NOT_YOURS = (
    "This token is not a browser-upload token this access token started, so nothing was asked. "
    "Pass the token media_browser_upload_start returned to you, or start a new upload with it."
)


class UploadTokens:
    """Browser-upload tokens of one caller: Late's token plus an HMAC of it and the caller."""

    def __init__(self, key: bytes, caller: str) -> None:
        self._key, self._caller = key, caller

    def _mac(self, late_token: str) -> str:
        message = f"{self._caller}\n{late_token}".encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def handle(self, late_token: str) -> str:
        """The token the caller gets for Late's `late_token`: usable by this caller only."""
        return f"{late_token}.{self._mac(late_token)}"

    def late_token(self, handle: str) -> str:
        """Late's token inside a handle this caller was given; ToolInputError for any other."""
        late_token, _, mac = handle.strip().rpartition(".")
        given = mac.encode("utf-8", "surrogatepass")  # bytes: compare_digest refuses non-ASCII str
        if not late_token or not hmac.compare_digest(given, self._mac(late_token).encode()):
            raise ToolInputError(NOT_YOURS)
        return late_token


async def upload_tokens(secret: ServerSecret) -> UploadTokens:
    """The current caller's upload tokens; without the signing secret, a refusal (nothing sent)."""
    try:
        key = await secret.key("upload")
    except SecretUnavailable as exc:
        raise ToolInputError(
            "Refused, nothing was sent: browser-upload tokens are bound to their caller with late-mcp's "
            f"signing secret, and {exc}."
        ) from exc
    return UploadTokens(key, caller_id())


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


class Watcher:
    """Sends `notifications/progress` for the call (a no-op when the client gave no token)."""

    def __init__(self, ctx: Context, total: int) -> None:
        self.ctx = ctx
        self.total = total
        self.finished = 0  # bytes of the files already done (or given up)
        self.reported = -1
        self.step = max(total // 100, 1)

    async def report(self, done: int, message: str) -> None:
        if done - self.reported < self.step and done != self.total:
            return
        self.reported = done
        try:
            await self.ctx.report_progress(done, self.total, message)
        except Exception as exc:  # a progress message must never break the upload it reports on
            log.debug("progress notification not sent: %s", type(exc).__name__)

    def for_file(self, media: MediaFile) -> Callable[[int], Awaitable[None]]:
        async def on_bytes(sent: int) -> None:
            name = word(media.path.name)
            await self.report(self.finished + sent, f"{name}: {_mb(sent)} of {_mb(media.size)}")

        return on_bytes


async def upload_one(ctx: Context, media: MediaFile, watcher: Watcher) -> Uploaded:
    """Presign and stream one opened file; closes it. Raises LateError."""
    client = app(ctx).client
    try:
        link = await client.presign(media.path.name, media.content_type, media.size)
        await client.upload_file(
            link.upload_url,
            media.handle,
            media.content_type,
            media.size,
            name=media.path.name,
            progress=watcher.for_file(media),
        )
    finally:
        media.close()
        watcher.finished += media.size
    return Uploaded(
        public_url=link.public_url,
        media_type=media.media_type,
        content_type=media.content_type,
        size_bytes=media.size,
        filename=media.path.name,
    )


async def open_all(
    paths: Sequence[str], folders: Sequence[Path], show_folders: bool, browser_upload: bool = True
) -> list[MediaFile | FileOutcome]:
    """Each path opened and checked, or its refusal."""
    opened: list[MediaFile | FileOutcome] = []
    for path in paths:
        try:
            opened.append(
                await inspect_media_file(
                    path, folders, show_folders=show_folders, browser_upload=browser_upload
                )
            )
        except MediaFileError as exc:
            opened.append(FileOutcome(path=path, error=str(exc), error_kind="invalid_argument"))
    return opened


async def upload_many(
    ctx: Context, paths: Sequence[str], folders: Sequence[Path], show_folders: bool
) -> list[FileOutcome]:
    """Upload every path; each result separate, in the order given."""
    opened = await open_all(paths, folders, show_folders, app(ctx).client.offers_browser_uploads)
    watcher = Watcher(ctx, sum(m.size for m in opened if isinstance(m, MediaFile)))
    outcomes: list[FileOutcome] = []
    try:
        for path, item in zip(paths, opened, strict=True):
            if isinstance(item, FileOutcome):
                outcomes.append(item)
                continue
            try:
                outcomes.append(FileOutcome(path=path, uploaded=await upload_one(ctx, item, watcher)))
            except LateError as exc:
                log.info("upload of one file failed: %s (status %s)", exc.kind, exc.status)
                outcomes.append(FileOutcome(path=path, error=exc.describe(), error_kind=exc.kind))
    finally:
        for item in opened:
            if isinstance(item, MediaFile):
                item.close()  # those not reached because of a cancellation
    return outcomes
