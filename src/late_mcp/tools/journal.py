"""The audit journal, readable by the assistant: what late-mcp changed for the user, and when.

Each caller reads its own entries; full access (local use, the shared LATE_MCP_TOKEN) reads every
caller's, with who made each. Profile-limited tokens do not get the tool at all (late_mcp.server.access).
Entries hold ids, digests, outcomes and a summary without links or tokens (late_mcp.safety.replay).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.auth.principal import caller_id, is_admin
from late_mcp.core.toolsets import Domain
from late_mcp.safety.records import JournalError
from late_mcp.tools._common import ToolInputError, app, ok, plural, tool
from late_mcp.tools._views import View
from late_mcp.tools.declaration import Reach


class EntryView(View):
    at: str
    tool: str
    outcome: str
    targets: list[str]
    summary: str | None = None
    request_id: str | None = None
    caller: str | None = None


class JournalResult(View):
    entries: list[EntryView]
    journal: str


@tool(Domain.JOURNAL, "local", reach=Reach.EVERY_CLIENT)
async def journal_recent(
    ctx: Context,
    hours: Annotated[float, Field(description="Hours back.", gt=0, le=24 * 90)] = 24,
    tool_name: Annotated[
        str | None, Field(description="Only this tool, e.g. posts_create.", max_length=64)
    ] = None,
    limit: Annotated[int, Field(ge=1, le=200)] = 50,
) -> CallToolResult:
    """Writes late-mcp made (posts, deletes, invites…), newest first, with outcome and ids:
    "what did you post today?"."""
    journal = app(ctx).journal
    since = datetime.now(UTC) - timedelta(hours=hours)
    admin = is_admin()
    try:
        entries = await journal.recent(
            since=since, tool=tool_name, limit=limit, caller=None if admin else caller_id()
        )
    except JournalError as exc:
        raise ToolInputError(str(exc)) from None
    where = journal.where
    views = [
        EntryView(
            at=e.at,
            tool=e.tool,
            outcome=e.outcome,
            targets=e.targets,
            summary=e.summary,
            request_id=e.request_id,
            caller=e.caller if admin else None,
        )
        for e in entries
    ]
    return ok(
        ctx,
        f"{plural(len(views), 'write')} in the last {hours:g} h.",
        JournalResult(entries=views, journal=where),
    )
