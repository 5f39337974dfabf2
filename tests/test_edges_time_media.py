"""The edges of time, text and files (issue 13, items 17-19), through real MCP sessions.

17. A local time the clocks skip (spring forward) or show twice (fall back) is refused before any
    request, naming the valid times; the fix is a time with its offset.
18. Text made only of invisible characters counts as empty wherever text is required.
19. Over stdio, without LATE_MEDIA_DIRS or roots, only the usual media folders may be read (never
    the whole home folder); the refusal says how to allow another; a hard-linked file is refused.
"""

from __future__ import annotations

import calendar
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from mcp import Client

from conftest import fails, make_settings, ok
from contract import ContractCheckingTransport
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_FACEBOOK,
    SEED_ACCOUNT_ACME_INSTAGRAM,
    SEED_ACCOUNT_ACME_TWITTER,
)
from late_mcp.server import build_server

pytestmark = pytest.mark.anyio

AMS = "Europe/Amsterdam"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
PDF = b"%PDF-1.4\n% account 0042 balance 1,234.56\n" + b"0" * 2000 + b"\n%%EOF\n"


def writes(state: SandboxState) -> list[tuple[str, str]]:
    """Every request that could change something at Late (anything but GET)."""
    return [r for r in state.requests if r[0] != "GET"]


# -- 17: times that do not exist, and times that happen twice -----------------------------------


def last_sunday(year: int, month: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - 6) % 7)


def next_eu_switches() -> tuple[date, date]:
    """The next spring-forward and fall-back Sundays in the EU that are safely in the future."""
    year = datetime.now(UTC).year + 1
    return last_sunday(year, 3), last_sunday(year, 10)


async def test_a_time_in_the_spring_gap_is_refused_naming_both_sides(
    mcp: Client, state: SandboxState
) -> None:
    spring, _ = next_eu_switches()
    day = f"{spring.day} {spring:%b %Y}"
    before = writes(state)
    for tool in ("posts_create", "posts_validate"):
        message = await fails(
            mcp,
            tool,
            content="Opening soon",
            accounts=[SEED_ACCOUNT_ACME_TWITTER],
            scheduled_for=f"{spring}T02:30",
            timezone=AMS,
        )
        assert f"02:30 does not exist on {day} in {AMS}" in message, message
        assert "clocks jump from 02:00 to 03:00" in message
        assert "use 01:59 CET or 03:00 CEST" in message
        assert f"'{spring}T01:59+01:00'" in message and f"'{spring}T03:00+02:00'" in message
    assert writes(state) == before and not state.posts
    # The fix the refusal names works and is sent as exactly that instant.
    fixed = await ok(
        mcp,
        "posts_create",
        content="Opening soon",
        accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for=f"{spring}T03:00+02:00",
        timezone=AMS,
    )
    sent = datetime.fromisoformat(fixed["post"]["scheduled_for"].replace("Z", "+00:00"))
    assert sent == datetime.fromisoformat(f"{spring}T01:00+00:00")


async def test_a_time_shown_twice_in_autumn_names_both_instants_and_asks(
    mcp: Client, state: SandboxState
) -> None:
    _, autumn = next_eu_switches()
    before = writes(state)
    for tool in ("posts_create", "posts_validate"):
        message = await fails(
            mcp,
            tool,
            content="Clocks go back tonight",
            accounts=[SEED_ACCOUNT_ACME_FACEBOOK],
            scheduled_for=f"{autumn}T02:30",
            timezone=AMS,
        )
        assert f"02:30 happens twice on {autumn.day} {autumn:%b %Y} in {AMS}" in message, message
        assert f"{autumn}T02:30+02:00 (CEST)" in message and f"{autumn}T02:30+01:00 (CET)" in message
        assert "1 h later" in message and "Ask which one is meant" in message
        assert "pass scheduled_for with its offset" in message
    assert writes(state) == before and not state.posts
    # Either instant, given with its offset, is taken as it is.
    for offset, utc_hour in (("+02:00", 0), ("+01:00", 1)):
        data = await ok(
            mcp,
            "posts_create",
            content=f"Clocks go back tonight {offset}",
            accounts=[SEED_ACCOUNT_ACME_FACEBOOK],
            scheduled_for=f"{autumn}T02:30{offset}",
            timezone=AMS,
        )
        sent = datetime.fromisoformat(data["post"]["scheduled_for"].replace("Z", "+00:00"))
        assert sent == datetime(autumn.year, autumn.month, autumn.day, utc_hour, 30, tzinfo=UTC)


async def test_times_next_to_the_switch_are_unchanged(mcp: Client) -> None:
    spring, autumn = next_eu_switches()
    eve = autumn - timedelta(days=1)
    for local, utc in (
        (f"{spring}T01:59", f"{spring}T00:59+00:00"),
        (f"{spring}T03:00", f"{spring}T01:00+00:00"),
        (f"{autumn}T01:59", f"{eve}T23:59+00:00"),  # still summer time: the evening before in UTC
        (f"{autumn}T03:00", f"{autumn}T02:00+00:00"),
    ):
        data = await ok(
            mcp, "posts_create", content=f"At {local}", accounts=[SEED_ACCOUNT_ACME_TWITTER],
            scheduled_for=local, timezone=AMS,
        )  # fmt: skip
        sent = datetime.fromisoformat(data["post"]["scheduled_for"].replace("Z", "+00:00"))
        assert sent == datetime.fromisoformat(utc), local


async def test_other_zones_and_half_hour_switches(mcp: Client, state: SandboxState) -> None:
    """New York's 02:00 gap, Lord Howe Island's half-hour switch both ways."""
    year = datetime.now(UTC).year + 1
    march = date(year, 3, 1)
    second_sunday = march + timedelta(days=(6 - march.weekday()) % 7 + 7)
    ny = await fails(
        mcp, "posts_validate", content="x", accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for=f"{second_sunday}T02:15", timezone="America/New_York",
    )  # fmt: skip
    assert "02:15 does not exist" in ny and "use 01:59 EST or 03:00 EDT" in ny
    assert f"'{second_sunday}T03:00-04:00'" in ny
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    # Its clocks go forward 30 min on the first Sunday of October at 02:00, back on the first of April.
    october = date(year, 10, 1)
    first_october = october + timedelta(days=(6 - october.weekday()) % 7)
    april = date(year, 4, 1)
    first_april = april + timedelta(days=(6 - april.weekday()) % 7)
    assert datetime(year, 10, first_october.day, 3, tzinfo=lord_howe).utcoffset() == timedelta(hours=11)
    gap = await fails(
        mcp, "posts_create", content="x", accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for=f"{first_october}T02:10", timezone="Australia/Lord_Howe",
    )  # fmt: skip
    assert "clocks jump from 02:00 to 02:30" in gap and f"'{first_october}T02:30+11:00'" in gap
    twice = await fails(
        mcp, "posts_create", content="x", accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for=f"{first_april}T01:45", timezone="Australia/Lord_Howe",
    )  # fmt: skip
    assert "30 min later" in twice
    assert f"{first_april}T01:45+11:00" in twice and f"{first_april}T01:45+10:30" in twice
    assert not writes(state)


async def test_late_timezone_default_is_checked_too(
    late_transport: ContractCheckingTransport, state: SandboxState
) -> None:
    """No timezone argument: the operator's LATE_TIMEZONE is the zone, and the gap is still refused."""
    spring, _ = next_eu_switches()
    server = build_server(make_settings(timezone=AMS), transport=late_transport)
    async with Client(server, mode="legacy") as client:
        message = await fails(
            client, "posts_create", content="x", accounts=[SEED_ACCOUNT_ACME_TWITTER],
            scheduled_for=f"{spring}T02:00",
        )  # fmt: skip
    assert f"02:00 does not exist on {spring.day} {spring:%b %Y} in {AMS}" in message
    assert not writes(state)


async def test_posts_update_refuses_a_gap_time_and_changes_nothing(mcp: Client, state: SandboxState) -> None:
    spring, autumn = next_eu_switches()
    created = await ok(
        mcp, "posts_create", content="Move me", accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for=f"{spring}T09:00", timezone=AMS,
    )  # fmt: skip
    post_id = created["post"]["id"]
    stored = json.dumps(state.posts[post_id], sort_keys=True, default=str)
    before = writes(state)
    gap = await fails(
        mcp, "posts_update", post_id=post_id, scheduled_for=f"{spring}T02:30"
    )  # the post's zone
    assert "02:30 does not exist" in gap and "use 01:59 CET or 03:00 CEST" in gap
    twice = await fails(mcp, "posts_update", post_id=post_id, scheduled_for=f"{autumn}T02:30", timezone=AMS)
    assert "happens twice" in twice and "+02:00" in twice and "+01:00" in twice
    assert writes(state) == before
    assert json.dumps(state.posts[post_id], sort_keys=True, default=str) == stored


# -- 18: invisible text is empty ---------------------------------------------------------------

INVISIBLE = {
    "zero width space": "\u200b",
    "joiners": "\u200c\u200d\u200b",
    "word joiner": "\u2060\u2060",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "mixed with spaces": " \u200b \u00a0\u3000\u200d\n",
    "variation selectors alone": "\ufe0f\ufe0e",
    "tags": "\U000e0041\U000e0042",
    "hangul filler": "\u3164",
    "braille blank": "\u2800",
    "combining marks alone": "\u0301\u0308",
    "bidi marks": "\u200e\u200f\u202a",
}


async def test_invisible_only_text_to_x_is_refused(mcp: Client, state: SandboxState) -> None:
    before = writes(state)
    in_three_days = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
    for name, content in INVISIBLE.items():
        for mode in ({"publish_now": True}, {"scheduled_for": in_three_days}):
            refused = await fails(
                mcp, "posts_create", content=content, accounts=[SEED_ACCOUNT_ACME_TWITTER], **mode
            )
            assert "Nothing was sent" in refused and "the X post has no visible characters" in refused, name
            assert "and no media" in refused and "Give it visible text or media" in refused, name
        validated = await ok(
            mcp, "posts_validate", content=content, accounts=[SEED_ACCOUNT_ACME_TWITTER], publish_now=True
        )
        assert validated["valid"] is False, name
        (problem,) = validated["problems"]
        assert problem["rule"] == "twitter.empty" and "no visible characters" in problem["message"], name
    assert writes(state) == before and not state.posts


async def test_the_refusal_names_the_invisible_characters(mcp: Client) -> None:
    message = await fails(
        mcp,
        "posts_create",
        content="\u200b\u2060\u200b",
        accounts=[SEED_ACCOUNT_ACME_TWITTER],
        publish_now=True,
    )
    assert "U+200B ZERO WIDTH SPACE" in message and "U+2060 WORD JOINER" in message
    plain = await fails(
        mcp, "posts_create", content="   ", accounts=[SEED_ACCOUNT_ACME_TWITTER], publish_now=True
    )
    assert "has no text and no media" in plain


async def test_invisible_per_platform_text_and_thread_parts(mcp: Client, state: SandboxState) -> None:
    custom = await fails(
        mcp, "posts_create", content="Visible for everyone else",
        accounts=[SEED_ACCOUNT_ACME_TWITTER, SEED_ACCOUNT_ACME_FACEBOOK],
        custom_content={"twitter": "\u200b\u200d"}, publish_now=True,
    )  # fmt: skip
    assert "1 platform rule broken" in custom and "the X post has no visible characters" in custom
    thread = await fails(
        mcp, "posts_create", content="Part one", accounts=[SEED_ACCOUNT_ACME_TWITTER],
        options={"twitter": {"thread": ["Part two", "\u2060\ufeff"]}}, publish_now=True,
    )  # fmt: skip
    assert "thread post 3 is empty: it has no visible characters" in thread
    assert "U+2060 WORD JOINER" in thread and "thread post 2" not in thread
    checked = await ok(
        mcp, "posts_validate", content="Part one", accounts=[SEED_ACCOUNT_ACME_TWITTER],
        options={"twitter": {"thread": ["\u200b"]}}, publish_now=True,
    )  # fmt: skip
    assert [p["rule"] for p in checked["problems"]] == ["twitter.thread_item_empty"]
    assert not writes(state) and not state.posts


async def test_invisible_text_with_media_and_visible_text_still_go(mcp: Client) -> None:
    """Invisible text is empty text, not an error of its own: with media, X takes a post without text;
    and text with a zero-width joiner inside an emoji is visible."""
    with_media = await ok(
        mcp, "posts_validate", content="\u200b", accounts=[SEED_ACCOUNT_ACME_TWITTER],
        media_urls=["https://cdn.example.com/a.jpg"], publish_now=True,
    )  # fmt: skip
    assert with_media["problems"] == []
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    for content in (family, "\u200bhello\u200b", "\u00e9", "\u0639"):
        assert (
            await ok(
                mcp, "posts_validate", content=content, accounts=[SEED_ACCOUNT_ACME_TWITTER], publish_now=True
            )
        )["problems"] == []


async def test_an_invisible_reply_is_refused_unsent(mcp: Client, state: SandboxState) -> None:
    listed = await ok(mcp, "comments_list", account_id=SEED_ACCOUNT_ACME_INSTAGRAM)
    post_id = listed["posts"][0]["id"]
    comment_id = (await ok(mcp, "comments_list", post_id=post_id))["comments"][0]["id"]
    message = await fails(mcp, "comments_reply", post_id=post_id, comment_id=comment_id, text="\u200b\u2060")
    assert "text is empty (no visible characters)" in message and "write the reply" in message
    assert not [r for r in state.requests if r[0] == "POST" and r[1].startswith("/api/v1/inbox/")]
