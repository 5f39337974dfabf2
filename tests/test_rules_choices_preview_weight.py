"""Issue 15, items 4-6 through a real MCP session: a refusal never picks a person's consent or
audience choice for them; the publish-now preview shows everything that will be sent, per account;
X text is counted X's way (URLs 23, emoji and CJK 2) and a long text is offered a thread."""

from __future__ import annotations

import re
from typing import Any

import pytest
from mcp import Client
from twitter_text import parse_tweet

from conftest import asking, call, fails, make_settings, ok, structured, text
from contract import ContractCheckingTransport
from late_mcp.rules.weigh import Weighed, x_weighed
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


async def test_publish_now_preview_shows_every_thread_part_text_and_comment(
    mcp: Client, lab: str, state: SandboxState
) -> None:
    result = await call(mcp, "posts_create", profile_id=lab, **EVERYTHING)
    assert not result.is_error, text(result)
    answer = structured(result) or {}
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


async def test_validation_shows_each_account_what_it_would_be_sent(
    mcp: Client, lab: str, state: SandboxState
) -> None:
    """posts_validate shows what the publish preview shows: every thread part, each account's own
    text, its first comment and settings, not only the first text."""
    checked = await ok(mcp, "posts_validate", profile_id=lab, **EVERYTHING)
    assert checked["valid"] is True, checked
    x, threads, linkedin = checked["targets"]
    assert [x["text"], *x["thread"]] == THREAD and [threads["text"], *threads["thread"]] == THREAD[:2]
    assert linkedin["text"] == "We are opening our second bakery on Monday."
    assert linkedin["first_comment"] == "Directions: https://example.com/map"
    assert linkedin["settings"] == {"disable_link_preview": True}
    assert not state.posts


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


# --- item 6: X's weighted count (twitter-text v3), and a thread offered when a text is too long

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 7 code points, one emoji
LINK = "https://example.com/menu/" + "spring-" * 20 + "2027?utm_source=newsletter"

# (text, X's weighted count): the conformance suite's length cases, then the v3 weights.
CONFORMANCE = [
    ("This is a test.", 15),
    ("http://test.com", 23),
    ("https://test.com", 23),
    ("test.com", 23),
    ("Test https://test.com test https://test.com test.com test", 86),
    ("\U00010000\U0010ffff", 4),  # outside the v3 ranges: 2 each
    ("저찀쯿쿿", 8),  # Hangul: 2 each
    ("H\U0001f431☺" + FAMILY, 7),  # 1 + 2 + 2 + 2: an emoji sequence counts once
    ("日本語", 6),
    ("café au lait", 12),  # Latin accents: 1 each
    ("e\u0301", 1),  # counted after NFC: one character
    ("a\r\nb", 3),  # a line ending counts once
    ("“quoted” — dash…", 17),  # quotes and dashes (2010-201F) 1 each, the ellipsis (2026) 2
    (LINK, 23),
    ("a" * 250 + " " + LINK, 274),
    ("😀" * 140, 280),
    ("😀" * 141, 282),
    ("a" * 278 + FAMILY, 280),
]


@pytest.mark.parametrize(("sample", "weight"), CONFORMANCE)
def test_x_weighs_text_the_twitter_text_way(sample: str, weight: int) -> None:
    assert x_weighed(sample, 280) == Weighed(weight)
    assert parse_tweet(sample).weightedLength == weight  # run by run, the same as the whole text


def test_dotty_runs_are_counted_as_characters_and_far_over_says_at_least() -> None:
    assert x_weighed("1." * 1000, 280) == Weighed(2000)  # no link search in a run of 1,000 dots
    assert x_weighed("1." * 20 + " x.com", 280) == Weighed(40 + 1 + 23)
    far = x_weighed(" ".join(["word"] * 1000), 280)
    assert far.at_least and 4 * 280 < far.count < 4999 and str(far) == f"at least {far.count}"


@pytest.mark.parametrize(
    ("content", "valid"),
    [
        ("a" * 250 + " " + LINK, True),  # 371 characters, 274 on X's scale
        ("a" * 278 + FAMILY, True),  # 285 code points, 280 on X's scale
        ("日" * 140, True),
        ("a" * 280, True),
        ("日" * 141, False),
        ("😀" * 141, False),  # 141 characters, 282 on X's scale
        ("a" * 279 + "😀", False),
    ],
)
async def test_posts_validate_counts_x_text_as_x_does(
    mcp: Client, lab: str, content: str, valid: bool
) -> None:
    data = await ok(
        mcp, "posts_validate", content=content, accounts=["twitter"], profile_id=lab, is_draft=True
    )
    assert data["valid"] is valid, data["problems"]
    if not valid:
        (problem,) = data["problems"]
        assert problem["rule"] == "twitter.text_max"
        assert re.fullmatch(
            r"text counts 28[12] on X's scale \(a link 23, most emoji and CJK characters 2\); X allows 280",
            problem["message"],
        ), problem["message"]
        assert (
            "make it a thread: options.twitter.thread takes the follow-up posts (each up to 280)"
            in (problem["fix"])
        )


async def test_over_long_x_post_is_refused_with_the_weighed_count_and_a_thread(
    mcp: Client, lab: str, state: SandboxState
) -> None:
    message = await fails(
        mcp,
        "posts_create",
        content="😀" * 150,
        accounts=["twitter"],
        profile_id=lab,
        publish_now=True,
        options={"twitter": {"thread": ["日" * 141]}},
    )
    assert message.startswith("Nothing was sent: 2 platform rules broken.")
    assert "text counts 300 on X's scale" in message and "Shorten it by 20 characters" in message
    assert (
        "or make it a thread: options.twitter.thread takes the follow-up posts (each up to 280)." in message
    )
    assert "thread post 2 counts 282 on X's scale" in message and "Shorten it by 2 characters" in message
    assert not state.posts
