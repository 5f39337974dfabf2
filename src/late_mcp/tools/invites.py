"""Invite links: how a client connects their own accounts to a profile (accounts_connect_link,
in accounts.py, connects one yourself)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.core.outside import word
from late_mcp.core.toolsets import Domain
from late_mcp.late.models import Invite, parse_timestamp
from late_mcp.safety.idempotency import IdempotencyKey
from late_mcp.tools._common import (
    ID_PATTERN,
    OptionalProfileId,
    PlatformName,
    ProfileId,
    app,
    ok,
    plural,
    tool,
)
from late_mcp.tools._views import View

PlatformArg = Annotated[PlatformName, Field(description="The account's platform.")]


class InviteView(View):
    id: str
    platform: str
    profile_id: str | None = None
    profile_name: str | None = None
    invite_url: str | None = None
    expires_at: str | None = None
    status: str


class InviteResult(View):
    invite: InviteView


class InviteList(View):
    invites: list[InviteView]


class Revoked(View):
    revoked: str


def _expired(expires_at: str | None) -> bool:
    moment = parse_timestamp(expires_at)
    return moment is not None and moment <= datetime.now(UTC)


def _view(invite: Invite) -> InviteView:
    status = "used" if invite.is_used else "expired" if _expired(invite.expires_at) else "open"
    return InviteView(
        id=invite.id,
        platform=invite.platform,
        profile_id=invite.profile_id,
        profile_name=invite.profile.name if invite.profile else None,
        invite_url=invite.invite_url,
        expires_at=invite.expires_at,
        status=status,
    )


@tool(Domain.INVITES, "create", touches={"profile": "profile_id"})
async def invites_create(
    profile_id: ProfileId, platform: PlatformArg, ctx: Context, idempotency_key: IdempotencyKey = None
) -> CallToolResult:
    """Link the client opens to connect their `platform` account (7 days); then accounts_list."""
    invite = await app(ctx).client.create_invite(profile_id, platform)
    view = _view(invite)
    return ok(
        ctx,
        f"Invite for {platform}, valid until {word(view.expires_at)}: {word(view.invite_url, 2000)}",
        InviteResult(invite=view),
    )


@tool(Domain.INVITES, "read", touches={"profile": "profile_id"})
async def invites_list(ctx: Context, profile_id: OptionalProfileId = None) -> CallToolResult:
    """Invites (open, used, expired); used means the client connected."""
    invites = [_view(i) for i in await app(ctx).client.list_invites(profile_id)]
    open_count = sum(1 for i in invites if i.status == "open")
    return ok(ctx, f"{plural(len(invites), 'invite')}, {open_count} open.", InviteList(invites=invites))


@tool(Domain.INVITES, "delete", touches={"invite": "invite_id"})
async def invites_revoke(
    invite_id: Annotated[str, Field(description="From invites_list.", pattern=ID_PATTERN)],
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
) -> CallToolResult:
    """Revoke an unused invite so its link stops working."""
    await app(ctx).client.revoke_invite(invite_id)
    return ok(ctx, f"Revoked invite {invite_id}.", Revoked(revoked=invite_id))
