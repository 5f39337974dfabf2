"""MCP Apps: the HTML views some tools carry (the `io.modelcontextprotocol/ui` extension).

Each app is one self-contained document shipped as package data (`<name>.html`): style and script
inline, nothing loaded from anywhere. The parts every app shares, the postMessage client of the
extension (`_bridge.js`) and the base style (`_base.css`), are written once here and put inline
into each document where it says `<!--late:bridge-->` and `<!--late:style-->`. A tool names its app
in its declaration (`@tool(..., app="calendar")`); server/build.py registers the documents.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Literal, get_args

AppName = Literal["calendar", "preview", "report", "upload"]
APP_NAMES: tuple[AppName, ...] = get_args(AppName)
MAX_APP_BYTES = 60_000
TITLES: dict[AppName, str] = {
    "calendar": "Client calendar",
    "preview": "Post preview",
    "report": "Results report",
    "upload": "Upload picker",
}


def app_uri(name: AppName) -> str:
    """The `ui://` address a tool's `_meta.ui.resourceUri` points at."""
    return f"ui://late-mcp/{name}.html"


def _part(filename: str) -> str:
    return files(__package__).joinpath(filename).read_text(encoding="utf-8")


@cache
def app_html(name: AppName) -> str:
    """The app's whole document, the shared client and style put inline."""
    if name not in APP_NAMES:
        raise ValueError(f"no app named {name!r}; apps: {', '.join(APP_NAMES)}")
    document = _part(f"{name}.html")
    document = document.replace("<!--late:style-->", f"<style>{_part('_base.css')}</style>", 1)
    return document.replace("<!--late:bridge-->", f"<script>{_part('_bridge.js')}</script>", 1)
