"""Profiles: one per client project; they group the client's connected accounts."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.core.outside import quoted, word
from late_mcp.late.models import Profile
from late_mcp.safety.confirm import Confirm, confirm_step
from late_mcp.tools._common import ProfileId, ToolInputError, app, ok, plural, tool
from late_mcp.tools._views import View

Color = Annotated[str | None, Field(description="Hex, e.g. #FF9933.", pattern=r"^#[0-9A-Fa-f]{6}$")]
Name = Annotated[str, Field(description="Client or project name.", min_length=1, max_length=100)]
Description = Annotated[str | None, Field(description="Free text.", max_length=500)]


class ProfileList(View):
    profiles: list[Profile]


class ProfileResult(View):
    profile: Profile


class Deleted(View):
    deleted: str


@tool("profiles", "List profiles", "read")
async def profiles_list(ctx: Context) -> CallToolResult:
    """Profiles (one per client) with the ids other tools take."""
    profiles = await app(ctx).client.list_profiles()
    return ok(ctx, f"{plural(len(profiles), 'profile')}.", ProfileList(profiles=profiles))


@tool("profiles", "Get a profile", "read")
async def profiles_get(profile_id: ProfileId, ctx: Context) -> CallToolResult:
    """Get one profile by id."""
    profile = await app(ctx).client.get_profile(profile_id)
    return ok(ctx, f"Profile {quoted(profile.name)}.", ProfileResult(profile=profile))


@tool("profiles", "Create a profile", "create")
async def profiles_create(
    name: Name, ctx: Context, description: Description = None, color: Color = None
) -> CallToolResult:
    """Create a profile for a new client. Next: invites_create per platform, queue_slots_set."""
    body: dict[str, Any] = {"name": name.strip()}
    if description is not None:
        body["description"] = description
    if color is not None:
        body["color"] = color
    profile = await app(ctx).client.create_profile(body)
    return ok(
        ctx, f"Created profile {quoted(profile.name)} ({word(profile.id)}).", ProfileResult(profile=profile)
    )


@tool("profiles", "Update a profile", "update")
async def profiles_update(
    profile_id: ProfileId,
    ctx: Context,
    name: Annotated[str | None, Field(description="New name.", min_length=1, max_length=100)] = None,
    description: Description = None,
    color: Color = None,
    is_default: Annotated[bool | None, Field(description="Make it the default.")] = None,
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


class DeletePreview(View):
    profile: Profile
    effect: str


@tool("profiles", "Delete a profile", "delete")
async def profiles_delete(profile_id: ProfileId, ctx: Context, confirm: Confirm = None) -> CallToolResult:
    """Delete a profile without connected accounts. Previews, returns confirm_token."""
    context = app(ctx)
    client = context.client
    profile = await client.get_profile(profile_id)
    connected = await client.list_accounts(profile_id)
    if connected:
        names = ", ".join(f"{a.label()} [{word(a.id)}]" for a in connected[:20])
        raise ToolInputError(
            f"Profile {quoted(profile.name)} still has {plural(len(connected), 'connected account')} "
            f"({names}); "
            "Late refuses to delete it. Disconnect them first with accounts_disconnect, if the client agrees."
        )
    preview = DeletePreview(profile=profile, effect="Deletes the profile and its queue settings.")
    what = f"delete profile {quoted(profile.name)} ({profile_id})"
    stop = await confirm_step(
        ctx, context.confirm_gate, context.settings.confirm, "profiles_delete", confirm, preview, what
    )
    if stop is not None:
        return stop
    await client.delete_profile(profile_id)
    return ok(ctx, f"Deleted profile {quoted(profile.name)} ({profile_id}).", Deleted(deleted=profile_id))


TOOLS = (profiles_list, profiles_get, profiles_create, profiles_update, profiles_delete)
