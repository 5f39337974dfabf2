"""The Late account itself: its plan, limits and usage (offered with the accounts toolset)."""

from __future__ import annotations

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult

from late_mcp.core.toolsets import Domain
from late_mcp.tools._common import app, ok, tool


@tool(Domain.ACCOUNTS, "read")
async def usage_stats(ctx: Context) -> CallToolResult:
    """Late plan, limits and usage (uploads, profiles)."""
    stats = await app(ctx).client.usage_stats()
    profiles = (
        f", {stats.usage.profiles}/{stats.limits.profiles} profiles"
        if stats.usage.profiles is not None
        else ""
    )
    return ok(
        ctx, f"Plan {stats.plan_name}: {stats.usage.uploads}/{stats.limits.uploads} uploads{profiles}.", stats
    )
