"""The agency workflow end to end, as a person would drive it by talking to Claude."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from mcp import Client

from conftest import ok
from late_mcp.sandbox import SandboxState

CLIENT_PLATFORMS = ["instagram", "facebook", "linkedin", "twitter", "tiktok", "youtube"]

pytestmark = pytest.mark.anyio


async def test_agency_workflow(mcp: Client, state: SandboxState, tmp_path: Path) -> None:
    # 1. One profile for the client's project.
    profile = (
        await ok(
            mcp,
            "profiles_create",
            name="Bakkerij Jansen",
            description="Social media autopilot",
            color="#FF9933",
        )
    )["profile"]
    profile_id = profile["id"]

    # 2. An invite link per platform, to send to the client: one call for all six.
    made = await ok(mcp, "invites_create", profile_id=profile_id, platforms=list(CLIENT_PLATFORMS))
    assert made["profile_id"] == profile_id and "failed" not in made
    invites = {i["platform"]: i for i in made["invites"]}
    assert list(invites) == list(CLIENT_PLATFORMS)
    assert made["expires_at"] and all(i["invite_url"] for i in invites.values())
    assert len({i["invite_url"] for i in invites.values()}) == 6

    # 3. The client opens two of the links and connects their own accounts.
    for platform in ("instagram", "facebook"):
        state.accept_invite(state.invites[invites[platform]["id"]]["token"])

    # 4. Refresh: which invites were used, which accounts are connected and healthy.
    listed = (await ok(mcp, "invites_list", profile_id=profile_id))["invites"]
    assert sorted(i["platform"] for i in listed if i["status"] == "used") == ["facebook", "instagram"]
    accounts = (await ok(mcp, "accounts_list", profile_id=profile_id))["accounts"]
    assert sorted(a["platform"] for a in accounts) == ["facebook", "instagram"]
    health = await ok(mcp, "accounts_health", profile_id=profile_id)
    assert health["summary"]["total"] == 2 and health["summary"]["healthy"] == 2

    # 5. An image from disk.
    image = tmp_path / "croissants.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00JFIF" + bytes(5000))
    uploaded = await ok(mcp, "media_upload_file", path=str(image))
    assert uploaded["media_type"] == "image"

    # 6. Scheduled for 09:00 Amsterdam time tomorrow, to both accounts, with the image.
    day = (datetime.now(ZoneInfo("Europe/Amsterdam")) + timedelta(days=1)).date()
    nine = datetime(day.year, day.month, day.day, 9, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
    created = (
        await ok(
            mcp,
            "posts_create",
            content="Vers uit de oven: croissants!",
            accounts=["instagram", "facebook"],
            profile_id=profile_id,
            scheduled_for=f"{day.isoformat()}T09:00",
            timezone="Europe/Amsterdam",
            media_urls=[uploaded["public_url"]],
        )
    )["post"]
    assert created["status"] == "scheduled"

    # 7. Read it back.
    post = (await ok(mcp, "posts_get", post_id=created["id"]))["post"]
    assert datetime.fromisoformat(post["scheduled_for"].replace("Z", "+00:00")) == nine.astimezone(UTC)
    assert post["timezone"] == "Europe/Amsterdam"
    assert post["media"] == [uploaded["public_url"]]
    assert {t["account_id"] for t in post["targets"]} == {a["id"] for a in accounts}
    assert all(t["status"] == "pending" for t in post["targets"])
    scheduled = (await ok(mcp, "posts_list", status="scheduled", profile_id=profile_id))["posts"]
    assert [p["id"] for p in scheduled] == [created["id"]]
