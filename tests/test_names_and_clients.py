"""Names as people write them: platforms in any case and "X" for twitter (issue 15, item 16)."""

from __future__ import annotations

import pytest
from mcp import Client

from conftest import fails, ok
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_ACCOUNT_NORDIC_TIKTOK,
    SEED_PROFILE_ACME,
    SEED_PROFILE_NORDIC,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("written", "platform"), [("X", "twitter"), ("x", "twitter"), ("Instagram", "instagram")]
)
async def test_invites_create_takes_a_platform_in_any_case_and_x_for_twitter(
    mcp: Client, state: SandboxState, written: str, platform: str
) -> None:
    created = await ok(mcp, "invites_create", profile_id=SEED_PROFILE_ACME, platform=written)
    assert created["invite"]["platform"] == platform
    assert [i["platform"] for i in state.invites.values()] == [platform]  # what Late was sent


async def test_every_platform_argument_takes_any_case(mcp: Client) -> None:
    link = await ok(mcp, "accounts_connect_link", profile_id=SEED_PROFILE_ACME, platform="YouTube")
    assert link["platform"] == "youtube" and link["auth_url"].startswith("http")
    code = await ok(mcp, "accounts_connect_link", profile_id=SEED_PROFILE_ACME, platform="TELEGRAM")
    assert code["platform"] == "telegram" and code["code"]
    rules = await ok(mcp, "posts_platform_rules", platform="X")
    assert rules["platform"] == "twitter" and rules["rules"] > 0
    assert (await ok(mcp, "posts_platform_rules", platform="GoogleBusiness"))["platform"] == "googlebusiness"


async def test_platform_filters_take_any_case(mcp: Client) -> None:
    listed = await ok(mcp, "accounts_list", profile_id=SEED_PROFILE_ACME, platform="X")
    assert [a["id"] for a in listed["accounts"]] == [SEED_ACCOUNT_ACME_TWITTER]
    tiktok = await ok(mcp, "accounts_list", platform="TikTok")
    assert [a["id"] for a in tiktok["accounts"]] == [SEED_ACCOUNT_NORDIC_TIKTOK]
    for tool in ("posts_list", "analytics_posts"):
        lower = await ok(mcp, tool, platform="twitter")
        assert await ok(mcp, tool, platform="X") == lower, tool


async def test_account_references_take_x_in_any_case(mcp: Client) -> None:
    for ref in ("X:@acmebakery", "x:@AcmeBakery", "Twitter:@acmebakery"):
        checked = await ok(mcp, "posts_validate", content="Fresh bread", accounts=[ref], publish_now=True)
        assert [t["account"]["account_id"] for t in checked["targets"]] == [SEED_ACCOUNT_ACME_TWITTER], ref
    bare = await ok(
        mcp,
        "posts_validate",
        content="Fresh bread",
        accounts=["X"],
        profile_id=SEED_PROFILE_ACME,
        publish_now=True,
    )
    assert [t["account"]["account_id"] for t in bare["targets"]] == [SEED_ACCOUNT_ACME_TWITTER]
    refused = await fails(
        mcp, "posts_validate", content="Hi", accounts=["X"], profile_id=SEED_PROFILE_NORDIC, publish_now=True
    )
    assert "'X' matches 2 twitter accounts in profile \"Nordic Outdoor\"" in refused


async def test_a_name_that_is_no_platform_is_still_refused_with_the_list(mcp: Client) -> None:
    refused = await fails(mcp, "invites_create", profile_id=SEED_PROFILE_ACME, platform="MySpace")
    assert "platform: Input should be 'twitter', 'instagram'" in refused and "'googlebusiness'" in refused
    filtered = await fails(mcp, "accounts_list", platform="myspace")
    assert "platform" in filtered and "'twitter'" in filtered
