"""Tables for `late-mcp call` of a list tool: one aligned row per item, the columns a person
reads first (the full answer is `--json`). Every cell is outside text made one line and cut short,
so a name cannot move the cursor, break a row or push the next column off the screen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from late_mcp.core.outside import one_line

Row = Mapping[str, Any]
Column = tuple[str, Callable[[Row], object]]
CELL_LIMIT = 40


def _handle(row: Row) -> object:
    return f"@{row['username']}" if row.get("username") else ""


def _client(row: Row) -> object:
    return row.get("profile_name") or row.get("profile_id") or ""


def _accounts_of_post(row: Row) -> object:
    targets = row.get("targets") or []
    return ", ".join(f"{t.get('platform', '')} {_handle(t)}".strip() for t in targets if isinstance(t, dict))


# By tool: the list in its structured result and the columns shown.
TABLES: Mapping[str, tuple[str, Sequence[Column]]] = {
    "accounts_list": (
        "accounts",
        (
            ("ID", lambda r: r.get("id")),
            ("PLATFORM", lambda r: r.get("platform")),
            ("HANDLE", _handle),
            ("CLIENT", _client),
        ),
    ),
    "profiles_list": (
        "profiles",
        (
            ("ID", lambda r: r.get("id")),
            ("NAME", lambda r: r.get("name")),
            ("DEFAULT", lambda r: "yes" if r.get("is_default") else ""),
        ),
    ),
    "posts_list": (
        "posts",
        (
            ("ID", lambda r: r.get("id")),
            ("STATUS", lambda r: r.get("status")),
            ("WHEN", lambda r: r.get("scheduled_for")),
            ("ACCOUNTS", _accounts_of_post),
            ("TEXT", lambda r: r.get("content")),
        ),
    ),
    "invites_list": (
        "invites",
        (
            ("ID", lambda r: r.get("id")),
            ("PLATFORM", lambda r: r.get("platform")),
            ("CLIENT", _client),
            ("STATUS", lambda r: r.get("status")),
            ("EXPIRES", lambda r: r.get("expires_at")),
        ),
    ),
}


def cell(value: object) -> str:
    text = one_line(" ".join(str(value if value is not None else "").split()))
    return text if len(text) <= CELL_LIMIT else text[: CELL_LIMIT - 1] + "…"


def aligned(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The header and rows with every column as wide as its widest cell (the last one unpadded)."""
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *rows]
    ]


def list_table(tool: str, data: Mapping[str, Any] | None) -> list[str]:
    """The table lines for a list tool's structured result; none for other tools or an empty list."""
    if tool not in TABLES or not data:
        return []
    key, columns = TABLES[tool]
    items = [item for item in data.get(key) or [] if isinstance(item, dict)]
    if not items:
        return []
    rows = [[cell(get(item)) for _, get in columns] for item in items]
    return aligned([name for name, _ in columns], rows)
