"""Where late-mcp keeps its files unless told otherwise (the journal; the token store beside it)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def default_journal_path() -> Path:
    """Per-user data location of the journal (the caller handles $LATE_JOURNAL_PATH)."""
    home = Path.home()
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        base = Path(local) if local else home / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"
    return base / "late-mcp" / "journal.sqlite3"
