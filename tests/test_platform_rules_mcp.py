"""Platform rules and options through a real MCP session: every rule case of tests/rule_cases.py
replayed through posts_validate, multi-platform refusals with nothing sent, and options reaching
Late's request body."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client

from conftest import confirmed, fails, ok
from late_mcp.core.platforms import PLATFORMS
from late_mcp.rules import rule_count
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.state import SEED_PROFILE_ACME
from rule_cases import CASES, TIKTOK_VIDEO, RuleCase

pytestmark = pytest.mark.anyio
EXTENSIONS = {"image": "jpg", "video": "mp4", "gif": "gif", "document": "pdf"}


@pytest.fixture
def lab(state: SandboxState) -> str:
    """A client profile with one connected account on every platform; returns its id."""
    profile = state.create_profile({"name": "Rules Lab"})
    for platform in PLATFORMS:
        state._add_account(profile["_id"], platform, f"lab_{platform}", f"Lab {platform}")
    return str(profile["_id"])


def posted(state: SandboxState) -> int:
    return sum(1 for method, path in state.requests if method == "POST" and path.endswith("/v1/posts"))


def arguments(case: RuleCase, profile_id: str) -> dict[str, Any]:
    args: dict[str, Any] = {
        "content": case.text,
        "accounts": [case.platform],
        "profile_id": profile_id,
        "is_draft": True,
    }
    if case.media:
        args["media_urls"] = [
            f"https://cdn.example.com/m{n}.{EXTENSIONS[kind]}" for n, kind in enumerate(case.media)
        ]
    if case.title is not None:
        args["title"] = case.title
    if case.options is not None:
        args["options"] = {case.platform: case.options}
    return args


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_each_rule_case_through_posts_validate(mcp: Client, lab: str, case: RuleCase) -> None:
    data = await ok(mcp, "posts_validate", **arguments(case, lab))
    rules = [p["rule"] for p in data["problems"]]
    if case.passes:
        assert data["valid"] is True and rules == [], rules
    else:
        assert data["valid"] is False and case.rule in rules, rules
        problem = next(p for p in data["problems"] if p["rule"] == case.rule)
        assert problem["fix"] and problem["account"].startswith(f"{case.platform} @lab_{case.platform}")


async def test_every_violation_of_a_multi_platform_post_is_reported_at_once(
    mcp: Client, lab: str, state: SandboxState
) -> None:
    before = posted(state)
    message = await fails(
        mcp,
        "posts_create",
        content="x" * 281,
        accounts=["twitter", "instagram", "tiktok", "youtube"],
        profile_id=lab,
        scheduled_for="2099-01-01T09:00",
        timezone="Europe/Amsterdam",
    )
    assert message.startswith("Nothing was sent:")
    assert "X allows 280" in message  # twitter.text_max
    for account in ("instagram @lab_instagram", "tiktok @lab_tiktok", "youtube @lab_youtube"):
        assert account in message
    assert "consent" in message.lower() and "title" in message
    assert posted(state) == before and not state.posts


async def test_a_draft_that_breaks_rules_is_saved_with_warnings(mcp: Client, lab: str) -> None:
    data = await ok(
        mcp, "posts_create", content="x" * 300, accounts=["twitter"], profile_id=lab, is_draft=True
    )
    assert data["post"]["status"] == "draft"
    assert [w["rule"] for w in data["warnings"]] == ["twitter.text_max"]


async def test_options_and_custom_content_reach_the_request_body(
    mcp: Client, lab: str, state: SandboxState
) -> None:
    data = await confirmed(
        mcp,
        "posts_create",
        content="New collection is live",
        accounts=["tiktok", "pinterest", "instagram", "twitter"],
        profile_id=lab,
        publish_now=True,
        media_urls=["https://cdn.example.com/collection.mp4"],
        options={
            "tiktok": TIKTOK_VIDEO,
            "pinterest": {"board_id": "board-42", "link": "https://shop.example.com"},
            "instagram": {"first_comment": "Link in bio"},
        },
        custom_content={"twitter": "Short and sweet for X"},
    )
    stored = {p["platform"]: p for p in state.posts[data["post"]["id"]]["platforms"]}
    tiktok = stored["tiktok"]["platformSpecificData"]["tiktokSettings"]
    assert tiktok["content_preview_confirmed"] is True and tiktok["express_consent_given"] is True
    assert tiktok["privacy_level"] == "PUBLIC_TO_EVERYONE"
    assert stored["pinterest"]["platformSpecificData"]["boardId"] == "board-42"
    assert stored["instagram"]["platformSpecificData"]["firstComment"] == "Link in bio"
    assert stored["twitter"]["customContent"] == "Short and sweet for X"
    assert "customContent" not in stored["instagram"]


async def test_a_bad_option_is_refused_with_what_is_allowed(
    mcp: Client, lab: str, state: SandboxState
) -> None:
    base = {"content": "Pin", "accounts": ["pinterest"], "profile_id": lab, "is_draft": True}
    base["media_urls"] = ["https://cdn.example.com/pin.jpg"]
    unknown = await fails(mcp, "posts_create", **base, options={"pinterest": {"bord_id": "x"}})
    assert "bord_id" in unknown and "board_id" in unknown and "posts_platform_rules" in unknown
    wrong = await fails(
        mcp,
        "posts_create",
        content="Video",
        accounts=["youtube"],
        profile_id=lab,
        is_draft=True,
        options={"youtube": {"visibility": "secret"}},
    )
    assert "visibility" in wrong and "unlisted" in wrong
    stray = await fails(mcp, "posts_create", **base, options={"tiktok": TIKTOK_VIDEO})
    assert "no account of that platform" in stray and "tiktok" in stray
    assert "not a platform name" in await fails(mcp, "posts_create", **base, custom_content={"myspace": "x"})
    assert not state.posts


async def test_posts_platform_rules_describes_one_platform(mcp: Client) -> None:
    data = await ok(mcp, "posts_platform_rules", platform="tiktok")
    assert data["rules"] == rule_count("tiktok")
    dumped = json.dumps(data["details"])
    assert "privacy_level" in dumped and "express_consent_given" in dumped


async def test_late_check_adds_lates_own_verdict(mcp: Client) -> None:
    data = await ok(
        mcp,
        "posts_validate",
        content="y" * 260,
        accounts=["twitter"],
        profile_id=SEED_PROFILE_ACME,
        is_draft=True,
        late_check=True,
    )
    assert data["valid"] is True and data["late"]["valid"] is True and data["late"]["warnings"]


async def test_an_edit_is_held_to_the_rules_of_every_target(mcp: Client, state: SandboxState) -> None:
    post = await ok(
        mcp,
        "posts_create",
        content="Short",
        accounts=["twitter"],
        profile_id=SEED_PROFILE_ACME,
        scheduled_for="2099-01-01T09:00",
        timezone="UTC",
    )
    post_id = post["post"]["id"]
    message = await fails(mcp, "posts_update", post_id=post_id, content="z" * 300)
    assert "Nothing was changed" in message and "X allows 280" in message
    assert state.posts[post_id]["content"] == "Short"
    assert (await ok(mcp, "posts_update", post_id=post_id, content="Still short"))["post"][
        "content"
    ] == "Still short"


async def test_the_sandboxs_late_check_weighs_x_text_as_x_does(mcp: Client) -> None:
    """150 emoji are 150 characters but weigh 300 on X: the stand-in's check, like Late's, says so
    (and late-mcp's own check agrees)."""
    data = await ok(
        mcp,
        "posts_validate",
        content="\U0001f35e" * 150,
        accounts=["twitter"],
        profile_id=SEED_PROFILE_ACME,
        is_draft=True,
        late_check=True,
    )
    assert data["valid"] is False and "X allows 280" in data["problems"][0]["message"]
    late_said = {"platform": "twitter", "error": "Content exceeds 280 characters (300)"}
    assert data["late"]["errors"] == [late_said]
