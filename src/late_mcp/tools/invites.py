"""Invite links: how a client connects their own accounts to a profile (accounts_connect_link,
in accounts.py, connects one yourself)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import anyio
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.core.outside import word
from late_mcp.core.toolsets import Domain
from late_mcp.late.client import LateClient
from late_mcp.late.errors import LateError
from late_mcp.late.models import Invite, parse_timestamp
from late_mcp.late.retry import outcome_unknown
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


class InviteView(View):
    id: str
    platform: str
    profile_id: str | None = None
    profile_name: str | None = None
    invite_url: str | None = None
    expires_at: str | None = None
    status: str


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


class NewInvite(View):
    platform: str
    id: str
    invite_url: str | None = None
    expires_at: str | None = None


class NotMade(View):
    platform: str
    error: str
    may_exist: bool = False


class InvitesMade(View):
    """`expires_at` once when the links end together (made seconds apart), else on each."""

    profile_id: str
    expires_at: str | None = None
    invites: list[NewInvite]
    failed: list[NotMade] | None = None


def _unique(platforms: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(platforms))


async def _make(client: LateClient, profile_id: str, platform: str) -> NewInvite | LateError:
    try:
        invite = await client.create_invite(profile_id, platform)
    except LateError as exc:
        return exc
    return NewInvite(
        platform=platform, id=invite.id, invite_url=invite.invite_url, expires_at=invite.expires_at
    )


def _together(invites: list[NewInvite]) -> tuple[str | None, list[NewInvite]]:
    """One expiry for links that end within a minute of each other (the first of them), and the
    invites without theirs; otherwise no shared expiry and each invite keeps its own."""
    ends = [parse_timestamp(i.expires_at) for i in invites]
    known = [e for e in ends if e is not None]
    if not known or len(known) < len(ends) or (max(known) - min(known)).total_seconds() > 60:
        return None, invites
    first = min(invites, key=lambda i: str(i.expires_at)).expires_at
    return first, [i.model_copy(update={"expires_at": None}) for i in invites]


@tool(Domain.INVITES, "create", touches={"profile": "profile_id"})
async def invites_create(
    profile_id: ProfileId,
    platforms: Annotated[
        list[PlatformName],
        Field(description="Each platform the client will connect.", min_length=1, max_length=13),
    ],
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
) -> CallToolResult:
    """Links (7 days) the client opens to connect their accounts, one per platform; then accounts_list."""
    client = app(ctx).client
    wanted = _unique(platforms)
    made: dict[str, NewInvite | LateError] = {}

    async def make(platform: str) -> None:
        made[platform] = await _make(client, profile_id, platform)

    async with anyio.create_task_group() as group:
        for platform in wanted:
            group.start_soon(make, platform)
    invites = [m for p in wanted if isinstance(m := made[p], NewInvite)]
    errors = {p: m for p in wanted if isinstance(m := made[p], LateError)}
    if not invites and not any(outcome_unknown(e) for e in errors.values()):
        raise next(iter(errors.values()))  # nothing was made: the first refusal, as it came
    failed = [
        NotMade(platform=p, error=e.describe(), may_exist=outcome_unknown(e)) for p, e in errors.items()
    ]
    summary = (
        f"{plural(len(invites), 'invite link')} for {', '.join(i.platform for i in invites) or 'no platform'}"
    )
    expires_at, shown = _together(invites)
    summary += (f", valid until {word(expires_at)}" if expires_at else "") + ": send each to the client."
    if failed:
        unknown = [f.platform for f in failed if f.may_exist]
        summary += f" Not made: {', '.join(f.platform for f in failed)} (see failed)."
        if unknown:
            summary += f" {', '.join(unknown)} may exist anyway: check invites_list before asking again."
    made_now = InvitesMade(profile_id=profile_id, expires_at=expires_at, invites=shown, failed=failed or None)
    return ok(ctx, summary, made_now)


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
