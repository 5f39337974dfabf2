"""Queue slots and the account's plan usage."""

from __future__ import annotations

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import BaseModel

from late_mcp.late.models import QueueSlot
from late_mcp.tools._common import ProfileId, app, ok, tool


class SlotResult(BaseModel):
    slot: QueueSlot


@tool("queue", "Next queue slot", "read")
async def queue_next_slot(profile_id: ProfileId, ctx: Context) -> CallToolResult:
    """Show when the profile's queue would publish next. To post there, call
    posts_create(use_queue=true) rather than scheduling at this time yourself."""
    slot = await app(ctx).client.next_queue_slot(profile_id)
    return ok(ctx, f"Next free slot: {slot.next_slot} ({slot.timezone or 'UTC'}).", SlotResult(slot=slot))


@tool("queue", "Plan usage", "read")
async def usage_stats(ctx: Context) -> CallToolResult:
    """Show the Late plan, its limits and what has been used (uploads, profiles)."""
    stats = await app(ctx).client.usage_stats()
    return ok(
        ctx,
        f"Plan {stats.plan_name}: {stats.usage.uploads}/{stats.limits.uploads} uploads, "
        f"{stats.usage.profiles}/{stats.limits.profiles} profiles.",
        stats,
    )


TOOLS = (queue_next_slot, usage_stats)
