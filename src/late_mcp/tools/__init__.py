"""The MCP tools, one module per domain. `ALL_TOOLS` is the single list the server registers."""

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
from late_mcp.tools._common import AppContext, ToolDef

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
