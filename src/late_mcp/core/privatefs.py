"""Files only their owner may read: folders 0700 and files 0600 when late-mcp creates them.

The journal (with SQLite's -wal and -shm files beside it) and the signing secret hold what other
users of the machine must not read. On Windows the mode bits mean little; the folders are the
user's own profile folders there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("late_mcp.files")
FOLDER_MODE = 0o700
FILE_MODE = 0o600


def make_private_dirs(folder: Path) -> None:
    """Create `folder` and every missing parent with mode 0700; existing folders are left as they are."""
    missing: list[Path] = []
    current = folder
    while not current.exists() and current.parent != current:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it at the same moment
            path.mkdir(mode=FOLDER_MODE)


def create_private_file(path: Path) -> None:
    """Create an empty file with mode 0600 unless it exists (an existing one is left to `tighten`)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))


def tighten(path: Path) -> None:
    """Take group and other permissions off an existing file (e.g. one made by hand); a file this
    user may not change is left as it is, with a warning that says how to fix it."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if os.name == "nt" or not mode & 0o077:
        return
    try:
        os.chmod(path, mode & FOLDER_MODE)
    except PermissionError:
        log.warning("%s is readable by other users (mode %04o); run chmod 600 on it", path, mode)
