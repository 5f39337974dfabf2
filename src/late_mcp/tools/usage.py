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
        f", {used_of(stats.usage.profiles, stats.limits.profiles)} profiles"
        if stats.usage.profiles is not None
        else ""
    )
    uploads = used_of(stats.usage.uploads, stats.limits.uploads)
    return ok(ctx, f"Plan {stats.plan_name}: {uploads} uploads{profiles}.", stats)


def used_of(used: int | None, limit: int | None) -> str:
    """`3/50`; Late's -1 (or any negative) limit is no limit: `3/unlimited`."""
    shown = "unlimited" if limit is not None and limit < 0 else str(limit if limit is not None else "?")
    return f"{used if used is not None else 0}/{shown}"
