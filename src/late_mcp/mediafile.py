"""Checks on a local file before it is uploaded: where it is, how big, and what it really is.

The content check matters for safety: an assistant can be talked into uploading any path it
names. Only files whose first bytes match a supported image, video or PDF format leave the
machine, so `~/.ssh/id_rsa` renamed to `.jpg` is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import anyio

from late_mcp.platforms import (
    CONTENT_TYPES,
    MAX_UPLOAD_BYTES,
    MediaType,
    content_type_for,
    supported_extensions,
)


class MediaFileError(Exception):
    """The file cannot be uploaded; the message says why and what to do."""


@dataclass(frozen=True)
class MediaFile:
    path: Path
    content_type: str
    media_type: MediaType
    size: int


def _is_iso_media(head: bytes) -> bool:
    return head[4:8] in {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


_SIGNATURES: dict[str, str] = {
    "image/jpeg": "jpeg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "video/mp4": "iso",
    "video/quicktime": "iso",
    "video/x-m4v": "iso",
    "video/webm": "webm",
    "video/x-msvideo": "avi",
    "video/mpeg": "mpeg",
}


def sniff(head: bytes) -> str | None:
    """Name the format the first bytes of a file show, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return "mpeg"
    if _is_iso_media(head):
        return "iso"
    return None


async def inspect_media_file(raw_path: str) -> MediaFile:
    """Resolve and check `raw_path` without blocking; raise MediaFileError with a clear reason."""
    if "\x00" in raw_path:
        raise MediaFileError("path contains a NUL character; give the plain path of the file.")
    try:
        path = Path(await anyio.Path(raw_path.strip()).expanduser())
    except RuntimeError:  # no home directory to expand ~ into
        raise MediaFileError(f"Cannot expand {raw_path!r}; give the full path of the file.") from None
    if not path.is_absolute():
        raise MediaFileError(
            f"path {raw_path!r} is relative; give the full path, e.g. /Users/me/Pictures/photo.jpg "
            "or ~/Pictures/photo.jpg."
        )
    apath = anyio.Path(path)
    try:
        stat = await apath.stat()
    except FileNotFoundError:
        raise MediaFileError(f"No file at {path}. Check the path (ask the user where the file is).") from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise MediaFileError(f"Cannot read {path}: {reason}.") from None
    if not await apath.is_file():
        raise MediaFileError(f"{path} is not a regular file.")
    content_type = content_type_for(path.name)
    if content_type is None:
        raise MediaFileError(
            f"{path.name} is not a supported media file; supported extensions: {supported_extensions()}."
        )
    if stat.st_size == 0:
        raise MediaFileError(f"{path} is empty.")
    if stat.st_size > MAX_UPLOAD_BYTES:
        raise MediaFileError(
            f"{path.name} is {stat.st_size / 1024**3:.1f} GB; Late accepts files up to 5 GB."
        )
    try:
        async with await anyio.open_file(path, "rb") as handle:
            head = await handle.read(16)
    except OSError as exc:
        raise MediaFileError(f"Cannot read {path}: {exc.strerror or type(exc).__name__}.") from None
    found = sniff(head)
    if found is None or found != _SIGNATURES.get(content_type):
        raise MediaFileError(
            f"{path.name} is named like {content_type} but its content is "
            f"{'a ' + found.upper() + ' file' if found else 'not a recognised image, video or PDF'}; "
            "only genuine media files are uploaded. Rename it to its real type or pick another file."
        )
    return MediaFile(
        path=path, content_type=content_type, media_type=CONTENT_TYPES[content_type], size=stat.st_size
    )
