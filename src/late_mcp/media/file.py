"""Open a local file for upload: only inside the allowed folders, once, and only genuine media.

An assistant can be talked into uploading any path it names, and an upload is public. So:
- the path must lie inside an allowed folder, both as written (no `..`) and after resolving
  links (no symlink leading out), with no hidden (dot) folder or file on the way;
- a file with more than one hard link is refused: its other names may lie outside;
- the file is opened once, walking down from the allowed folder one component at a time without
  following links (O_NOFOLLOW), and that same handle is checked and then streamed, so nothing can
  be swapped in between the check and the upload;
- anything outside gets one refusal whose text does not depend on the path, so it tells nothing
  about which paths exist;
- the content must be what the name says (media.sniff), so `~/.ssh/id_rsa` renamed `.jpg` stays.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import anyio

from late_mcp.core.platforms import (
    CONTENT_TYPES,
    MAX_UPLOAD_BYTES,
    MediaType,
    content_type_for,
    supported_extensions,
)
from late_mcp.media.sniff import sniff

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO must not hang the open
_BINARY = getattr(os, "O_BINARY", 0)
_WALK = os.open in os.supports_dir_fd and bool(_NOFOLLOW)

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


class MediaFileError(Exception):
    """The file cannot be uploaded; the message says why and what to do."""


class OutsideAllowedFolders(MediaFileError):
    """The path is not one media_upload_file may read. Its text never depends on the path."""


@dataclass
class MediaFile:
    """An open, checked media file. Stream `handle` (positioned at 0), then close it."""

    path: Path
    handle: BinaryIO
    content_type: str
    media_type: MediaType
    size: int

    def close(self) -> None:
        self.handle.close()


ALLOW_EXAMPLE = os.pathsep.join(("~/Pictures", "~/Documents/Social"))


def outside_message(folders: Sequence[Path] | None, *, browser_upload: bool = True) -> str:
    """The one refusal for any path outside. `folders` None: the folders are not to be named (HTTP).
    `browser_upload`: offer media_browser_upload_start (not once Late showed it lacks the route)."""
    if folders is None:
        where = ""
        allow = "The server's operator can allow other folders with LATE_MEDIA_DIRS."
    else:
        where = f" ({', '.join(map(str, folders))})" if folders else " (none: no media folder was found)"
        allow = (
            "To allow another folder, set LATE_MEDIA_DIRS in the server's environment (for Claude "
            f'Desktop: the "env" block), e.g. LATE_MEDIA_DIRS={ALLOW_EXAMPLE} (folders separated by '
            f"{os.pathsep!r}; it replaces the allowed folders), then restart the server."
        )
    return (
        f"Not an allowed file: media_upload_file reads only files inside the allowed folders{where}, "
        "not in hidden (dot) folders and not through links leading elsewhere. Ask the user for a file "
        + (
            "there, or use media_browser_upload_start so they upload it in a browser. "
            if browser_upload
            else "there. "
        )
        + allow
    )


def _real_folders(folders: Sequence[Path]) -> list[str]:
    real = []
    for folder in folders:
        try:
            resolved = os.path.realpath(os.path.expanduser(folder), strict=True)
        except (OSError, RuntimeError, ValueError):
            continue  # a folder that is gone allows nothing
        if os.path.isdir(resolved):
            real.append(resolved)
    return real


def _parts_below(real: str, folder: str) -> list[str] | None:
    """The components of `real` below `folder`, or None when it is not inside it."""
    try:
        relative = os.path.relpath(real, folder)
    except ValueError:  # another drive on Windows
        return None
    if relative == os.curdir or relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return relative.split(os.sep)


def _locate(raw_path: str, folders: Sequence[Path], outside: OutsideAllowedFolders) -> tuple[str, list[str]]:
    """(allowed folder, components below it) for `raw_path`, or raise `outside`."""
    if "\x00" in raw_path:
        raise outside
    try:
        path = os.path.expanduser(raw_path.strip())
    except RuntimeError:  # no home folder to expand ~ into
        raise outside from None
    if not os.path.isabs(path):
        raise MediaFileError(
            f"path {raw_path!r} is relative; give the full path, e.g. ~/Pictures/photo.jpg or "
            "/Users/me/Pictures/photo.jpg."
        )
    written = path.replace("\\", "/").split("/")
    if any(part == ".." or (part.startswith(".") and part != ".") for part in written):
        raise outside
    try:
        real = os.path.realpath(path)
    except (OSError, RuntimeError, ValueError):
        raise outside from None
    for folder in _real_folders(folders):
        parts = _parts_below(real, folder)
        if parts is not None and not any(part.startswith(".") for part in parts):
            return folder, parts
    raise outside


def open_below(folder: str, parts: list[str]) -> int:
    """Open folder/parts... read-only, following no link on the way (where the OS allows)."""
    if not _WALK:  # no dir_fd/O_NOFOLLOW (Windows): the realpath checks above are what we have
        return os.open(os.path.join(folder, *parts), os.O_RDONLY | _BINARY | _NONBLOCK)
    directory = os.open(folder, os.O_RDONLY | _DIRECTORY)
    try:
        for part in parts[:-1]:
            inner = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=directory)
            os.close(directory)
            directory = inner
        return os.open(parts[-1], os.O_RDONLY | _NOFOLLOW | _NONBLOCK, dir_fd=directory)
    finally:
        os.close(directory)


def open_media_file(
    raw_path: str, folders: Sequence[Path], *, show_folders: bool, browser_upload: bool = True
) -> MediaFile:
    """Open and check `raw_path` (blocking: run it in a worker thread). Raises MediaFileError."""
    shown_folders = folders if show_folders else None
    outside = OutsideAllowedFolders(outside_message(shown_folders, browser_upload=browser_upload))
    folder, parts = _locate(raw_path, folders, outside)
    shown = Path(os.path.expanduser(raw_path.strip()))
    try:
        fd = open_below(folder, parts)
    except FileNotFoundError:
        raise MediaFileError(
            f"No file at {shown}. Check the path (ask the user where the file is)."
        ) from None
    except OSError:  # a link, or something swapped in after the checks (ELOOP, ENOTDIR, EACCES...)
        raise outside from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise MediaFileError(f"{shown} is not a regular file.")
        if info.st_nlink > 1:  # the same file may also sit outside the allowed folders
            raise MediaFileError(
                f"{shown} has {info.st_nlink} hard links: the same file is also elsewhere, maybe outside "
                "the allowed folders, so it is not uploaded. Copy it into the folder (a copy, not a "
                "link) and upload the copy."
            )
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    try:
        return _check(handle, shown)
    except BaseException:
        handle.close()
        raise


def _check(handle: BinaryIO, path: Path) -> MediaFile:
    info = os.fstat(handle.fileno())
    content_type = content_type_for(path.name)
    if content_type is None:
        raise MediaFileError(
            f"{path.name} is not a supported media file; supported extensions: {supported_extensions()}."
        )
    if info.st_size == 0:
        raise MediaFileError(f"{path} is empty.")
    if info.st_size > MAX_UPLOAD_BYTES:
        raise MediaFileError(
            f"{path.name} is {info.st_size / 1024**3:.1f} GB; Late accepts files up to 5 GB."
        )

    def read_at(offset: int, count: int) -> bytes:
        handle.seek(offset)
        return handle.read(count)

    try:
        found = sniff(read_at, info.st_size)
        handle.seek(0)
    except OSError as exc:
        raise MediaFileError(f"Cannot read {path}: {exc.strerror or type(exc).__name__}.") from None
    if found is None or found != _SIGNATURES.get(content_type):
        raise MediaFileError(
            f"{path.name} is named like {content_type} but its content is "
            f"{'a ' + found.upper() + ' file' if found else 'not a recognised image, video or PDF'}; "
            "only genuine media files are uploaded. Rename it to its real type or pick another file."
        )
    return MediaFile(
        path=path,
        handle=handle,
        content_type=content_type,
        media_type=CONTENT_TYPES[content_type],
        size=info.st_size,
    )


async def inspect_media_file(
    raw_path: str, folders: Sequence[Path], *, show_folders: bool = True, browser_upload: bool = True
) -> MediaFile:
    """`open_media_file` without blocking the event loop."""
    return await anyio.to_thread.run_sync(
        lambda: open_media_file(raw_path, folders, show_folders=show_folders, browser_upload=browser_upload)
    )
