"""profiles_*, invites_*, accounts_* and queue/usage tools: success and main failure paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mcp import Client

from conftest import confirmed, fails, ok
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.state import SEED_ACCOUNT_NORDIC_YOUTUBE, SEED_PROFILE_ACME, SEED_PROFILE_NORDIC

UNKNOWN = "64a0000000000000000000ff"

pytestmark = pytest.mark.anyio


async def test_profiles_crud(mcp: Client) -> None:
    listed = await ok(mcp, "profiles_list")
    assert {p["name"] for p in listed["profiles"]} >= {"Acme Bakery", "Nordic Outdoor"}
    created = await ok(
        mcp, "profiles_create", name="Bakkerij Jansen", description="Client project", color="#FF9933"
    )
    profile_id = created["profile"]["id"]
    assert (await ok(mcp, "profiles_get", profile_id=profile_id))["profile"]["name"] == "Bakkerij Jansen"
    updated = await ok(mcp, "profiles_update", profile_id=profile_id, name="Jansen", is_default=True)
    assert updated["profile"]["name"] == "Jansen" and updated["profile"]["is_default"] is True
    assert await confirmed(mcp, "profiles_delete", profile_id=profile_id) == {
        "deleted": profile_id,
        "revoked_invites": [],
    }
    assert "404" in await fails(mcp, "profiles_get", profile_id=profile_id)


async def test_profile_failures(mcp: Client) -> None:
    assert "color" in await fails(mcp, "profiles_create", name="X", color="orange")
    assert "name" in await fails(mcp, "profiles_create", name="")
    assert "Nothing to update" in await fails(mcp, "profiles_update", profile_id=SEED_PROFILE_ACME)
    message = await fails(mcp, "profiles_delete", profile_id=SEED_PROFILE_ACME)
    assert "4 connected accounts" in message and "accounts_disconnect" in message
    assert "profiles_list" in await fails(mcp, "profiles_get", profile_id=UNKNOWN)


async def test_invite_lifecycle(mcp: Client, state: SandboxState) -> None:
    created = await ok(mcp, "invites_create", profile_id=SEED_PROFILE_ACME, platforms=["tiktok"])
    [invite] = created["invites"]
    assert invite["invite_url"].startswith("http") and created["profile_id"] == SEED_PROFILE_ACME
    expires = datetime.fromisoformat(created["expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    listed = await ok(mcp, "invites_list", profile_id=SEED_PROFILE_ACME)
    assert [i["id"] for i in listed["invites"]] == [invite["id"]]
    assert listed["invites"][0]["status"] == "open" and listed["invites"][0]["profile_name"] == "Acme Bakery"
    await ok(mcp, "invites_revoke", invite_id=invite["id"])
    assert "404" in await fails(mcp, "invites_revoke", invite_id=invite["id"])
    assert await ok(mcp, "invites_list", profile_id=SEED_PROFILE_ACME) == {"invites": []}


async def test_invite_failures(mcp: Client) -> None:
    refused = await fails(mcp, "invites_create", profile_id=SEED_PROFILE_ACME, platforms=["myspace"])
    assert "platforms.0" in refused
    assert "404" in await fails(mcp, "invites_create", profile_id=UNKNOWN, platforms=["twitter"])


async def test_connect_link(mcp: Client) -> None:
    link = await ok(
        mcp,
        "accounts_connect_link",
        profile_id=SEED_PROFILE_ACME,
        platform="youtube",
        redirect_url="https://agency.example/done",
    )
    assert link["auth_url"].startswith("http") and link["platform"] == "youtube"
    assert "404" in await fails(mcp, "accounts_connect_link", profile_id=UNKNOWN, platform="youtube")
    assert "redirect_url" in await fails(
        mcp,
        "accounts_connect_link",
        profile_id=SEED_PROFILE_ACME,
        platform="youtube",
        redirect_url="javascript:alert(1)",
    )


async def test_telegram_connects_with_an_access_code(mcp: Client, state: SandboxState) -> None:
    data = await ok(
        mcp,
        "accounts_connect_link",
        profile_id=SEED_PROFILE_ACME,
        platform="telegram",
        redirect_url="https://agency.example/done",
    )
    assert data["code"].startswith("LATE-") and data["instructions"] and "auth_url" not in data
    state.complete_connect(data["code"])
    telegram = await ok(mcp, "accounts_list", profile_id=SEED_PROFILE_ACME, platform="telegram")
    assert len(telegram["accounts"]) == 1


async def test_accounts_list_health_disconnect(mcp: Client) -> None:
    nordic = await ok(mcp, "accounts_list", profile_id=SEED_PROFILE_NORDIC)
    assert len(nordic["accounts"]) == 4
    assert all(a["profile_id"] == SEED_PROFILE_NORDIC for a in nordic["accounts"])
    assert {a["profile_name"] for a in nordic["accounts"]} == {"Nordic Outdoor"}
    twitter = await ok(mcp, "accounts_list", profile_id=SEED_PROFILE_NORDIC, platform="twitter")
    assert {a["username"].lstrip("@") for a in twitter["accounts"]} == {"nordicoutdoor", "nordic_deals"}
    health = await ok(mcp, "accounts_health", profile_id=SEED_PROFILE_NORDIC)
    assert health["summary"]["total"] == 4 and health["summary"]["warning"] == 1
    warned = next(a for a in health["accounts"] if a["status"] == "warning")
    assert warned["account_id"] == SEED_ACCOUNT_NORDIC_YOUTUBE and warned["issues"]
    await confirmed(mcp, "accounts_disconnect", account_id=SEED_ACCOUNT_NORDIC_YOUTUBE)
    assert len((await ok(mcp, "accounts_list", profile_id=SEED_PROFILE_NORDIC))["accounts"]) == 3
    gone = await fails(mcp, "accounts_disconnect", account_id=SEED_ACCOUNT_NORDIC_YOUTUBE)
    assert "No connected account" in gone and "accounts_list" in gone


async def test_queue_and_usage(mcp: Client) -> None:
    slot = await ok(mcp, "queue_preview", profile_id=SEED_PROFILE_ACME, count=1)
    assert datetime.fromisoformat(slot["utc"][0].replace("Z", "+00:00")) > datetime.now(UTC)
    fresh = await ok(mcp, "profiles_create", name="No queue yet")
    assert "404" in await fails(mcp, "queue_preview", profile_id=fresh["profile"]["id"], count=1)
    usage = await ok(mcp, "usage_stats")
    assert usage["plan_name"] and usage["limits"]["profiles"] >= usage["usage"]["profiles"] >= 3
