"""Issue 15, items 4-6 through a real MCP session: a refusal never picks a person's consent or
audience choice for them; the publish-now preview shows everything that will be sent, per account;
X text is counted X's way (URLs 23, emoji and CJK 2) and a long text is offered a thread."""

from __future__ import annotations

import re

import pytest
from mcp import Client

from conftest import ok
from late_mcp.sandbox import SandboxState

pytestmark = pytest.mark.anyio


@pytest.fixture
def lab(state: SandboxState) -> str:
    """A client profile with one X, Threads, Bluesky, LinkedIn and TikTok account; returns its id."""
    profile = state.create_profile({"name": "Preview Lab"})
    for platform in ("twitter", "threads", "bluesky", "linkedin", "tiktok"):
        state._add_account(profile["_id"], platform, f"lab_{platform}", f"Lab {platform}")
    return str(profile["_id"])


# --- item 4: the person's choices are asked for, never proposed


async def test_tiktok_choices_are_asked_for_never_proposed(mcp: Client, lab: str) -> None:
    data = await ok(
        mcp,
        "posts_validate",
        content="Our new oven",
        accounts=["tiktok"],
        profile_id=lab,
        media_urls=["https://cdn.example.com/oven.mp4"],
        is_draft=True,
    )
    fixes = {p["rule"]: p["fix"] for p in data["problems"]}
    assert set(fixes) == {
        "tiktok.consent",
        "tiktok.privacy_level",
        "tiktok.allow_comment",
        "tiktok.duet_stitch",
    }
    privacy = fixes["tiktok.privacy_level"]
    assert privacy.startswith(
        "Ask the person who may see it: one of PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS,"
    )
    assert "SELF_ONLY" in privacy and "Do not choose for them." in privacy
    assert fixes["tiktok.allow_comment"].startswith("Ask the person whether others may comment")
    assert "allow_duet and allow_stitch, each true or false" in fixes["tiktok.duet_stitch"]
    assert fixes["tiktok.consent"].startswith("Show the person the post and ask whether they agree; only if")
    for rule, fix in fixes.items():
        # No value is put in the model's mouth: no "key=value" (consent only once the person agreed).
        allowed = (
            {"content_preview_confirmed=true", "express_consent_given=true"}
            if rule == "tiktok.consent"
            else set()
        )
        assert set(re.findall(r"\w+=\S+?(?=[ ,.;]|$)", fix)) <= allowed, (rule, fix)
        assert "Add " not in fix and "use one" not in fix and "true|false" not in fix, (rule, fix)

    rules = await ok(mcp, "posts_platform_rules", platform="tiktok")
    notes = " ".join(rules["details"]["notes"])
    assert "ask them, never choose for them" in notes and "commercial_content_type" in notes
    assert "e.g." not in notes
