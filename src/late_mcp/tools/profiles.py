"""Profiles: one per client project; they group the client's connected accounts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.core.outside import quoted, word
from late_mcp.core.toolsets import Domain
from late_mcp.late.errors import LateError, NotFoundError
from late_mcp.late.models import Invite, Profile, parse_timestamp
from late_mcp.safety.confirm import Confirm, confirm_step
from late_mcp.safety.idempotency import IdempotencyKey
from late_mcp.tools._common import AppContext, ProfileId, ToolInputError, app, ok, plural, tool
from late_mcp.tools._together import both
from late_mcp.tools._views import View
from late_mcp.tools.declaration import Reach

Color = Annotated[str | None, Field(description="Hex, e.g. #FF9933.", pattern=r"^#[0-9A-Fa-f]{6}$")]
Name = Annotated[str, Field(description="Client name.", min_length=1, max_length=100)]
Description = Annotated[str | None, Field(description="Free text.", max_length=500)]


class ProfileList(View):
    profiles: list[Profile]


class ProfileResult(View):
    profile: Profile


class Deleted(View):
    deleted: str


@tool(Domain.PROFILES, "read")
async def profiles_list(ctx: Context) -> CallToolResult:
    """Profiles (one per client) with the ids other tools take."""
    profiles = await app(ctx).client.list_profiles()
    return ok(ctx, f"{plural(len(profiles), 'profile')}.", ProfileList(profiles=profiles))


@tool(Domain.PROFILES, "read", touches={"profile": "profile_id"})
async def profiles_get(profile_id: ProfileId, ctx: Context) -> CallToolResult:
    """Get one profile by id."""
    profile = await app(ctx).client.get_profile(profile_id)
    return ok(ctx, f"Profile {quoted(profile.name)}.", ProfileResult(profile=profile))


@tool(Domain.PROFILES, "create", reach=Reach.NEW_PROFILE)
async def profiles_create(
    name: Name,
    ctx: Context,
    description: Description = None,
    color: Color = None,
    allow_duplicate: Annotated[bool, Field(description="Allow a taken name.")] = False,
    idempotency_key: IdempotencyKey = None,
) -> CallToolResult:
    """A profile for a new client. Next: invites_create, queue_slots_set."""
    context = app(ctx)
    body: dict[str, Any] = {"name": name.strip()}
    if description is not None:
        body["description"] = description
    if color is not None:
        body["color"] = color
    if allow_duplicate:
        profile = await context.client.create_profile(body)
    else:
        profile = await _create_unless_named(context, body)
    return ok(
        ctx, f"Created profile {quoted(profile.name)} ({word(profile.id)}).", ProfileResult(profile=profile)
    )


def _same_name(name: str) -> str:
    """What two profile names are compared by: case-insensitive, surrounding whitespace ignored."""
    return name.strip().casefold()


async def _create_unless_named(context: AppContext, body: dict[str, Any]) -> Profile:
    """Create the profile unless one already has its name. Creates of one name (in any case) take
    turns through the journal's reservations, in this process and across replicas, so a second
    one looks only after the first is created, and is refused."""
    wanted = _same_name(body["name"])
    key = hashlib.sha256(f"profile name\0{context.settings.base_url}\0{wanted}".encode()).hexdigest()
    # Counted while it may be live (a reservation older than `within` says nothing); no result is kept.
    live = timedelta(seconds=context.reservations.ttl)
    async with context.reservations.hold(
        "post", f"profile:{key}", tool="profiles_create", digest=key, within=live, take_unknown=True
    ) as ticket:
        taken = [p for p in await context.client.list_profiles() if _same_name(p.name) == wanted]
        if taken:
            await ticket.release(unknown=False)
            named = ", ".join(f"{quoted(p.name)} ({word(p.id)})" for p in taken[:5])
            raise ToolInputError(
                f"Not created: a profile with this name exists: {named}. Use its profile_id for this "
                "client; only if the person wants a second profile of that name, repeat with "
                "allow_duplicate=true."
            )
        profile = await context.client.create_profile(body)
        await ticket.release(unknown=False)  # Late's profile list says it exists from now on
    return profile


@tool(Domain.PROFILES, "update", touches={"profile": "profile_id"})
async def profiles_update(
    profile_id: ProfileId,
    ctx: Context,
    name: Annotated[str | None, Field(description="New name.", min_length=1, max_length=100)] = None,
    description: Description = None,
    color: Color = None,
    is_default: Annotated[bool | None, Field(description="Make it the default.")] = None,
    idempotency_key: IdempotencyKey = None,
) -> CallToolResult:
    """Change a profile; only given fields change."""
    body: dict[str, Any] = {}
    for key, value in (
        ("name", name),
        ("description", description),
        ("color", color),
        ("isDefault", is_default),
    ):
        if value is not None:
            body[key] = value.strip() if isinstance(value, str) else value
    if not body:
        raise ToolInputError("Nothing to update: give at least one of name, description, color, is_default.")
    profile = await app(ctx).client.update_profile(profile_id, body)
    return ok(ctx, f"Updated profile {quoted(profile.name)}.", ProfileResult(profile=profile))


class OpenInvite(View):
    id: str
    platform: str
    expires_at: str | None = None


class DeletePreview(View):
    profile: Profile
    open_invites: list[OpenInvite]
    effect: str


class ProfileDeleted(View):
    deleted: str
    revoked_invites: list[str]


def _open(invites: list[Invite]) -> list[OpenInvite]:
    """Unused, unexpired invites: their links would still connect an account to the profile."""
    now = datetime.now(UTC)
    return [
        OpenInvite(id=i.id, platform=i.platform, expires_at=i.expires_at)
        for i in invites
        if not i.is_used and ((moment := parse_timestamp(i.expires_at)) is None or moment > now)
    ]


@tool(Domain.PROFILES, "delete", touches={"profile": "profile_id"})
async def profiles_delete(
    profile_id: ProfileId, ctx: Context, confirm: Confirm = None, idempotency_key: IdempotencyKey = None
) -> CallToolResult:
    """Delete an account-less profile and its open invites. Previews, returns confirm_token."""
    context = app(ctx)
    client = context.client
    profile = await client.get_profile(profile_id)
    connected, invites = await both(
        lambda: client.list_accounts(profile_id), lambda: client.list_invites(profile_id)
    )
    if connected:
        names = ", ".join(f"{a.label()} [{word(a.id)}]" for a in connected[:20])
        raise ToolInputError(
            f"Profile {quoted(profile.name)} still has {plural(len(connected), 'connected account')} "
            f"({names}); "
            "Late refuses to delete it. Disconnect them first with accounts_disconnect, if the client agrees."
        )
    pending = _open(invites)
    effect = "Deletes the profile and its queue settings"
    if pending:
        platforms = ", ".join(word(i.platform) for i in pending[:20])
        verb = "is" if len(pending) == 1 else "are"
        effect += f"; its {plural(len(pending), 'open invite')} {verb} revoked ({platforms})"
    preview = DeletePreview(profile=profile, open_invites=pending, effect=effect + ".")
    what = f"delete profile {quoted(profile.name)} ({profile_id})"
    if pending:
        what += f" and revoke its {plural(len(pending), 'open invite')}"
    stop = await confirm_step(
        ctx, context.confirm_tokens, context.settings.confirm, "profiles_delete", confirm, preview, what
    )
    if stop is not None:
        return stop
    # Listed again: an invite sent since the preview must not outlive the profile either.
    revoked = [i.id for i in _open(await client.list_invites(profile_id))]
    for done, invite_id in enumerate(revoked):
        try:
            await client.revoke_invite(invite_id)
        except NotFoundError:
            pass  # used or revoked meanwhile: its link no longer connects anything
        except LateError as exc:
            raise exc.with_context(
                hint=f"Invite {invite_id} could not be revoked ({plural(done, 'invite')} were before "
                "it); the profile was not deleted. Call profiles_delete again to finish."
            ) from exc
    await client.delete_profile(profile_id)
    said = f" and revoked its {plural(len(revoked), 'open invite')}" if revoked else ""
    return ok(
        ctx,
        f"Deleted profile {quoted(profile.name)} ({profile_id}){said}.",
        ProfileDeleted(deleted=profile_id, revoked_invites=revoked),
    )
