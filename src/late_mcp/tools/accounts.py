"""Connected social accounts: which exist, which are healthy, and disconnecting them."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.late.models import Account, AccountHealth, HealthSummary
from late_mcp.safety.confirm import Confirm, confirm_step
from late_mcp.tools._common import (
    ID_PATTERN,
    OptionalProfileId,
    PlatformFilter,
    ToolInputError,
    app,
    ok,
    plural,
    tool,
)
from late_mcp.tools._targets import AccountView, load_account_names
from late_mcp.tools._views import View


class AccountList(View):
    accounts: list[Account]


class HealthResult(View):
    summary: HealthSummary
    accounts: list[AccountHealth]


class Disconnected(View):
    disconnected: str


@tool("accounts", "List connected accounts", "read")
async def accounts_list(
    ctx: Context,
    profile_id: OptionalProfileId = None,
    platform: PlatformFilter = None,
) -> CallToolResult:
    """Connected accounts (id, platform, username, client) for posts_create(accounts=...)."""
    accounts = await app(ctx).client.list_accounts(profile_id)
    if platform is not None:
        accounts = [a for a in accounts if a.platform == platform]
    inactive = sum(1 for a in accounts if not a.is_active)
    note = f", {inactive} inactive (reconnect them)" if inactive else ""
    return ok(ctx, f"{plural(len(accounts), 'account')}{note}.", AccountList(accounts=accounts))


@tool("accounts", "Check account health", "read")
async def accounts_health(ctx: Context, profile_id: OptionalProfileId = None) -> CallToolResult:
    """Whether each account can post: token validity, expiry, issues; reconnect via invites_create."""
    report = await app(ctx).client.accounts_health(profile_id)
    s = counted(report.accounts)
    return ok(
        ctx,
        f"{s.total} accounts: {s.healthy} healthy, {s.warning} warning, {s.error} error, "
        f"{s.needs_reconnect} need reconnecting.",
        HealthResult(summary=s, accounts=report.accounts),
    )


def counted(accounts: list[AccountHealth]) -> HealthSummary:
    """The summary of exactly the accounts listed (Late's own counts every account it was asked
    about, which for a profile-limited token are more than it is shown)."""
    statuses = [a.status for a in accounts]
    return HealthSummary(
        total=len(accounts),
        healthy=statuses.count("healthy"),
        warning=statuses.count("warning"),
        error=statuses.count("error"),
        needs_reconnect=sum(1 for a in accounts if a.needs_reconnect),
    )


class DisconnectPreview(View):
    account: AccountView
    effect: str


@tool("accounts", "Disconnect an account", "delete")
async def accounts_disconnect(
    account_id: Annotated[str, Field(description="From accounts_list.", pattern=ID_PATTERN)],
    ctx: Context,
    confirm: Confirm = None,
) -> CallToolResult:
    """Disconnect an account (its scheduled posts stop there). Previews, returns confirm_token."""
    context = app(ctx)
    client = context.client
    directory = await load_account_names(client)
    account = directory.by_id.get(account_id)
    if account is None:
        raise ToolInputError(f"No connected account has the id {account_id!r}; accounts_list shows the ids.")
    shown = directory.view(account)
    preview = DisconnectPreview(
        account=shown,
        effect="Disconnects it; its scheduled posts stop publishing there until the owner reconnects.",
    )
    stop = await confirm_step(
        ctx,
        context.confirm_gate,
        context.settings.confirm,
        "accounts_disconnect",
        confirm,
        preview,
        f"disconnect {directory.label(account)}",
    )
    if stop is not None:
        return stop
    await client.disconnect_account(account_id)
    return ok(ctx, f"Disconnected {directory.label(account)}.", Disconnected(disconnected=account_id))


TOOLS = (accounts_list, accounts_health, accounts_disconnect)
