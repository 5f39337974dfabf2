"""Issue 15, items 4-6 through a real MCP session: a refusal never picks a person's consent or
audience choice for them; the publish-now preview shows everything that will be sent, per account;
X text is counted X's way (URLs 23, emoji and CJK 2) and a long text is offered a thread."""

from __future__ import annotations

import re
from typing import Any

import mcp_types as types
import pytest
from mcp import Client

from conftest import call, make_settings, ok, text
from contract import ContractCheckingTransport
from late_mcp.sandbox import SandboxState
from late_mcp.server.build import build_server

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


# --- item 5: the publish-now preview shows everything each account will be sent

THREAD = ["Part one: we open Monday.", "Part two: fresh bread from 7.", "Part three: see you there!"]
EVERYTHING: dict[str, Any] = {
    "content": THREAD[0],
    "accounts": ["twitter", "threads", "linkedin"],
    "publish_now": True,
    "media_urls": ["https://cdn.example.com/shop.jpg"],
    "title": "Opening",
    "custom_content": {"linkedin": "We are opening our second bakery on Monday."},
    "options": {
        "twitter": {"thread": THREAD[1:]},
        "threads": {"thread": THREAD[1:2]},
        "linkedin": {"first_comment": "Directions: https://example.com/map", "disable_link_preview": True},
    },
}


def asking(answer: str) -> Any:
    asked: list[str] = []

    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action=answer, content=None)  # type: ignore[arg-type]

    callback.asked = asked  # type: ignore[attr-defined]
    return callback


async def test_publish_now_preview_shows_every_thread_part_text_and_comment(
    mcp: Client, lab: str, state: SandboxState
) -> None:
    result = await call(mcp, "posts_create", profile_id=lab, **EVERYTHING)
    assert not result.is_error, text(result)
    answer = result.structured_content or {}
    preview = answer["preview"]
    x, threads, linkedin = preview["targets"]
    assert x["account"]["username"] == "lab_twitter"
    assert [x["text"], *x["thread"]] == THREAD
    assert [threads["text"], *threads["thread"]] == THREAD[:2]
    assert linkedin["text"] == "We are opening our second bakery on Monday." and "thread" not in linkedin
    assert linkedin["first_comment"] == "Directions: https://example.com/map"
    assert linkedin["settings"] == {"disable_link_preview": True}
    assert preview["media"] == ["https://cdn.example.com/shop.jpg"] and preview["title"] == "Opening"
    shown = text(result)
    assert all(part in shown for part in THREAD) and "Directions: https://example.com/map" in shown
    assert not state.posts  # a preview sends nothing

    # What the preview showed is what Late receives once confirmed.
    await call(mcp, "posts_create", profile_id=lab, **EVERYTHING, confirm=answer["confirm_token"])
    (sent,) = state.posts.values()
    by_platform = {t["platform"]: t for t in sent["platforms"]}
    items = by_platform["twitter"]["platformSpecificData"]["threadItems"]
    assert [item["content"] for item in items] == THREAD


async def test_publish_now_dialog_has_a_line_per_thread_post(
    late_transport: ContractCheckingTransport, lab: str, state: SandboxState
) -> None:
    callback = asking("decline")
    server = build_server(make_settings(), transport=late_transport)
    async with Client(server, mode="legacy", elicitation_callback=callback) as client:
        declined = await ok(client, "posts_create", profile_id=lab, **EVERYTHING)
    assert declined["status"] == "declined" and not state.posts
    (dialog,) = callback.asked
    lines = dialog.split("\n")
    assert lines[0] == (
        'late-mcp: publish now to 3 public accounts: twitter @lab_twitter ("Preview Lab"), '
        'threads @lab_threads ("Preview Lab"), linkedin @lab_linkedin ("Preview Lab")?'
    )
    assert lines[1:] == [
        f'to twitter @lab_twitter ("Preview Lab"): "{THREAD[0]}"',
        f'  thread post 2: "{THREAD[1]}"',
        f'  thread post 3: "{THREAD[2]}"',
        f'to threads @lab_threads ("Preview Lab"): "{THREAD[0]}"',
        f'  thread post 2: "{THREAD[1]}"',
        'to linkedin @lab_linkedin ("Preview Lab"): "We are opening our second bakery on Monday."',
        '  first comment: "Directions: https://example.com/map"',
        "  settings: disable_link_preview=True",
        "media: https://cdn.example.com/shop.jpg",
        "title: Opening",
        "effect: Publishes immediately and publicly; Late cannot take it back.",
    ]
