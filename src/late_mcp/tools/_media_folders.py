"""Where media_upload_file may read: LATE_MEDIA_DIRS; else over stdio the client's MCP roots,
else the usual media folders that exist (Pictures, Movies, Videos, Downloads, Desktop, and their
XDG names on Linux), never the whole home folder; over HTTP nothing unless LATE_MEDIA_DIRS is set."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import anyio
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPDeprecationWarning

from late_mcp.tools._common import ToolInputError, app

log = logging.getLogger(__name__)
ROOTS_TIMEOUT = 5.0


def http_without_folders(browser_upload: bool) -> str:
    """The refusal of media_upload_file over HTTP without LATE_MEDIA_DIRS; `browser_upload`: offer
    media_browser_upload_start (not once Late answered 404 on its route)."""
    browser = "media_browser_upload_start (the person uploads in a browser) or " if browser_upload else ""
    return (
        "media_upload_file is off over HTTP: the server's disk is not the user's. Use "
        f"{browser}media_upload_link; the server's operator can allow folders on the server with "
        "LATE_MEDIA_DIRS."
    )


HTTP_WITHOUT_FOLDERS = http_without_folders(True)


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


# Below the home folder, where people keep what they may want to post (macOS, Windows, Linux names).
MEDIA_FOLDER_NAMES = ("Pictures", "Movies", "Videos", "Downloads", "Desktop")
# The same folders as a Linux desktop may have renamed them (~/.config/user-dirs.dirs).
XDG_MEDIA_KEYS = ("XDG_PICTURES_DIR", "XDG_VIDEOS_DIR", "XDG_DOWNLOAD_DIR", "XDG_DESKTOP_DIR")


def xdg_media_folders(home: Path, env: Mapping[str, str]) -> list[Path]:
    """The media folders named in the XDG user-dirs file (`XDG_PICTURES_DIR="$HOME/Bilder"`)."""
    config = env.get("XDG_CONFIG_HOME", "")
    base = Path(config) if config and Path(config).is_absolute() else home / ".config"
    try:
        lines = (base / "user-dirs.dirs").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    folders = []
    for line in lines:
        key, equals, value = line.strip().partition("=")
        if not equals or key not in XDG_MEDIA_KEYS:
            continue
        value = value.strip().strip('"')
        if value.startswith("$HOME/"):
            folders.append(home / value.removeprefix("$HOME/"))
        elif value.startswith("/"):
            folders.append(Path(value))
    return folders


def usual_media_folders(
    home: Path | None = None, env: Mapping[str, str] | None = None, platform: str | None = None
) -> list[Path]:
    """The usual media folders of this user that exist; never the home folder itself or above it
    (a user-dirs file may set a folder to $HOME), never a hidden one."""
    try:
        home = home or Path.home()
        real_home = os.path.realpath(home)
    except (RuntimeError, OSError):  # no home folder: nothing is allowed by default
        return []
    candidates = [home / name for name in MEDIA_FOLDER_NAMES]
    if (platform or sys.platform).startswith("linux"):
        candidates += xdg_media_folders(home, os.environ if env is None else env)
    folders: list[Path] = []
    seen: set[str] = set()
    for folder in candidates:
        try:
            real = os.path.realpath(folder, strict=True)
        except (OSError, ValueError):
            continue
        covers_home = os.path.commonpath([real, real_home]) == real
        named = folder.relative_to(home).parts if folder.is_relative_to(home) else folder.parts
        hidden = any(part.startswith(".") for part in named)
        if covers_home or hidden or real in seen or not os.path.isdir(real):
            continue
        seen.add(real)
        folders.append(folder)
    return folders


async def allowed_folders(ctx: Context) -> tuple[list[Path], bool]:
    """Where media_upload_file may read, and whether a refusal may name those folders:
    LATE_MEDIA_DIRS; else over stdio the client's roots, else the usual media folders."""
    settings = app(ctx).settings
    if settings.media_dirs:
        return list(settings.media_dirs), settings.transport == "stdio"
    if settings.transport != "stdio":
        raise ToolInputError(http_without_folders(app(ctx).client.offers_browser_uploads))
    return (await client_roots(ctx)) or await anyio.to_thread.run_sync(usual_media_folders), True
