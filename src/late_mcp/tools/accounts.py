"""Connected social accounts: which exist, which are healthy, connecting and disconnecting them,
and their followers."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.core.outside import quoted, word
from late_mcp.core.toolsets import Domain
from late_mcp.late.models import Account, AccountHealth, HealthSummary
from late_mcp.safety.confirm import Confirm, confirm_step
from late_mcp.safety.idempotency import IdempotencyKey
from late_mcp.tools._addons import needing_addon
from late_mcp.tools._common import (
    ID_PATTERN,
    OptionalProfileId,
    PlatformFilter,
    PlatformName,
    ProfileId,
    ToolInputError,
    app,
    ok,
    plural,
    tool,
)
from late_mcp.tools._targets import AccountView, load_account_names
from late_mcp.tools._views import View
from late_mcp.tools.analytics import ADDON, NEEDS


class AccountList(View):
    accounts: list[Account]


class HealthResult(View):
    summary: HealthSummary
    accounts: list[AccountHealth]


class Disconnected(View):
    disconnected: str


@tool(Domain.ACCOUNTS, "read", touches={"profile": "profile_id"})
async def accounts_list(
    ctx: Context,
    profile_id: OptionalProfileId = None,
    platform: PlatformFilter = None,
) -> CallToolResult:
    """Connected accounts (id, platform, username, client) for posts_create."""
    directory = await load_account_names(app(ctx).client, profile_id)
    accounts = [directory.named(a) for a in directory.accounts]
    if platform is not None:
        accounts = [a for a in accounts if a.platform == platform]
    inactive = sum(1 for a in accounts if not a.is_active)
    note = f", {inactive} inactive (reconnect them)" if inactive else ""
    return ok(ctx, f"{plural(len(accounts), 'account')}{note}.", AccountList(accounts=accounts))


@tool(Domain.ACCOUNTS, "read", touches={"profile": "profile_id"})
async def accounts_health(ctx: Context, profile_id: OptionalProfileId = None) -> CallToolResult:
    """Can each account post: token, expiry, issues; reconnect via invites_create."""
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


@tool(Domain.ACCOUNTS, "delete", touches={"account": "account_id"})
async def accounts_disconnect(
    account_id: Annotated[str, Field(description="From accounts_list.", pattern=ID_PATTERN)],
    ctx: Context,
    confirm: Confirm = None,
    idempotency_key: IdempotencyKey = None,
) -> CallToolResult:
    """Disconnect an account (its scheduled posts stop). Previews, returns confirm_token."""
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
        context.confirm_tokens,
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


# accounts_connect_link is offered with the invites toolset (it starts a connection, like an invite);
# accounts_followers with analytics (it needs Late's Analytics add-on).
class ConnectLinkResult(View):
    platform: str
    profile_id: str
    auth_url: str | None = None
    code: str | None = None
    bot_username: str | None = None
    expires_at: str | None = None
    instructions: list[str] | None = None


@tool(Domain.INVITES, "create", touches={"profile": "profile_id"})
async def accounts_connect_link(
    profile_id: ProfileId,
    platform: Annotated[PlatformName, Field(description="The account's platform.")],
    ctx: Context,
    redirect_url: Annotated[
        str | None,
        Field(description="Where the browser goes after.", pattern=r"^https?://", max_length=2000),
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> CallToolResult:
    """OAuth URL to connect an account yourself (Telegram: a code); clients use invites_create."""
    client = app(ctx).client
    if platform == "telegram":
        code = await client.telegram_code(profile_id)
        steps = (
            quoted(" ".join(code.instructions), 500)
            if code.instructions
            else f"Send {word(code.code)} to @{word(code.bot_username)}."
        )
        return ok(
            ctx,
            f"Telegram connects with code {word(code.code)} (valid until {word(code.expires_at)}): {steps}",
            ConnectLinkResult(
                platform=platform,
                profile_id=profile_id,
                code=code.code,
                bot_username=code.bot_username,
                expires_at=code.expires_at,
                instructions=code.instructions,
            ),
        )
    link = await client.connect_link(platform, profile_id, redirect_url)
    return ok(
        ctx,
        f"Open this URL to connect {platform}: {word(link.auth_url, 4000)}",
        ConnectLinkResult(platform=platform, profile_id=profile_id, auth_url=link.auth_url),
    )


class Followers(View):
    account_id: str
    platform: str | None = None
    username: str | None = None
    followers: int | None = None
    growth: int | None = None
    growth_pct: float | None = None


class FollowersResult(View):
    accounts: list[Followers]


@tool(Domain.ANALYTICS, "read", touches={"accounts": "account_ids", "profile": "profile_id"})
async def accounts_followers(
    ctx: Context,
    account_ids: Annotated[
        list[Annotated[str, Field(pattern=ID_PATTERN)]] | None,
        Field(description="Only these accounts (accounts_list ids).", max_length=50),
    ] = None,
    profile_id: OptionalProfileId = None,
) -> CallToolResult:
    """Followers per account now, and growth over the last 30 days."""
    params = {"accountIds": ",".join(account_ids) if account_ids else None, "profileId": profile_id}
    stats = await needing_addon(app(ctx).client.follower_stats(params), ADDON, NEEDS)
    rows = [
        Followers(
            account_id=a.id,
            platform=a.platform,
            username=a.username,
            followers=int(a.current_followers) if a.current_followers is not None else None,
            growth=int(a.growth) if a.growth is not None else None,
            growth_pct=a.growth_percentage,
        )
        for a in stats.accounts
    ]
    total = sum(r.followers or 0 for r in rows)
    return ok(
        ctx, f"{plural(len(rows), 'account')}, {total} followers in all.", FollowersResult(accounts=rows)
    )
