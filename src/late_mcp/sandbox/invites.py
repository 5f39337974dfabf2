"""Platform invites for the sandbox store (mixed into `SandboxState`)."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from late_mcp.sandbox.common import (
    INVITE_TTL,
    SANDBOX_USER_ID,
    Clock,
    Json,
    SandboxError,
    bad,
    check_platform,
    iso,
    new_id,
)


class InvitesMixin:
    """Creating, listing, revoking and accepting platform invites; needs SandboxState's attributes."""

    clock: Clock
    profiles: dict[str, Json]
    invites: dict[str, Json]

    if TYPE_CHECKING:  # defined elsewhere on SandboxState

        def _profile(self, profile_id: str | None) -> Json: ...

        def _connect_account(self, profile_id: str, platform: str, prefix: str) -> Json: ...

    def _invite_view(self, invite: Json) -> Json:
        view = {k: copy.deepcopy(v) for k, v in invite.items() if not k.startswith("__")}
        name = self.profiles.get(invite["profileId"], {}).get("name", invite["__profileName"])
        view["profileId"] = {"_id": invite["profileId"], "name": name}
        return view

    def create_invite(self, body: Mapping[str, Any], origin: str) -> Json:
        """An invite for a client to connect their own account to a profile, with its `inviteUrl`."""
        profile_id = body.get("profileId")
        if not isinstance(profile_id, str) or not profile_id:
            raise bad("profileId is required (the profile the client's account will join)")
        platform = check_platform(body.get("platform"))
        profile = self._profile(profile_id)
        now = self.clock()
        invite = {
            "_id": new_id(),
            "token": secrets.token_hex(16),
            "userId": SANDBOX_USER_ID,
            "profileId": profile_id,
            "platform": platform,
            "inviterName": "Sandbox User",
            "inviterEmail": "sandbox@late.invalid",
            "expiresAt": iso(now + INVITE_TTL),
            "isUsed": False,
            "createdAt": iso(now),
            "__profileName": profile["name"],
        }
        self.invites[invite["_id"]] = invite
        url = f"{origin}/api/v1/platform-invites/{invite['token']}/connect"
        return {**self._invite_view(invite), "inviteUrl": url}

    def list_invites(self, profile_id: str | None = None) -> list[Json]:
        """Invites (of one profile, if given), newest first, without inviteUrl."""
        found = [i for i in self.invites.values() if profile_id in (None, i["profileId"])]
        return [self._invite_view(i) for i in reversed(found)]

    def delete_invite(self, invite_id: str | None) -> None:
        """Revoke an unused invite."""
        if not invite_id:
            raise bad("Invite ID required: pass it as the id query parameter")
        invite = self.invites.get(invite_id)
        if invite is None or invite["isUsed"]:
            raise SandboxError(404, "Invite not found or cannot be deleted")
        del self.invites[invite_id]

    def accept_invite(self, token: str) -> Json:
        """Simulate the client finishing OAuth from an invite link: {message, account}."""
        invite = next((i for i in self.invites.values() if i["token"] == token), None)
        if invite is None:
            raise SandboxError(404, "Invite not found")
        if invite["isUsed"]:
            raise SandboxError(409, "Invite has already been used")
        if datetime.fromisoformat(invite["expiresAt"]) <= self.clock():
            raise bad("Invite has expired; create a new one")
        profile = self._profile(invite["profileId"])
        invite["isUsed"] = True
        account = self._connect_account(profile["_id"], invite["platform"], "client")
        return {"message": f"{invite['platform']} account connected to {profile['name']}", "account": account}
