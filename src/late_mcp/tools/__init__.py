"""The MCP tools. `ALL_TOOLS` is the inventory: every tool's declaration (tools/declaration.py), in
the order tools/list shows them."""

from __future__ import annotations

from late_mcp.tools import (
    accounts,
    analytics,
    comments,
    invites,
    journal,
    media,
    posts,
    profiles,
    publishing,
    queue,
    report,
)
from late_mcp.tools._common import AppContext
from late_mcp.tools.declaration import ToolDef

ALL_TOOLS: tuple[ToolDef, ...] = (
    *profiles.TOOLS,
    *invites.TOOLS,
    *accounts.TOOLS,
    *queue.USAGE_TOOLS,
    *publishing.TOOLS,
    *posts.TOOLS,
    *media.TOOLS,
    *queue.TOOLS,
    *analytics.TOOLS,
    *report.TOOLS,
    *comments.TOOLS,
    *journal.TOOLS,
)

__all__ = ["ALL_TOOLS", "AppContext", "ToolDef"]
