"""posts_* tools through a real MCP session against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from mcp import Client

from conftest import confirmed, fails, ok
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_FACEBOOK,
    SEED_ACCOUNT_ACME_INSTAGRAM,
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_ACCOUNT_NORDIC_DEALS_TWITTER,
    SEED_ACCOUNT_NORDIC_TWITTER,
    SEED_PROFILE_ACME,
    SEED_PROFILE_NORDIC,
)

AMS = ZoneInfo("Europe/Amsterdam")

pytestmark = pytest.mark.anyio


def tomorrow_nine_local() -> datetime:
    day = (datetime.now(AMS) + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=AMS)


def post_requests(state: SandboxState) -> int:
    return sum(1 for method, path in state.requests if method == "POST" and path.endswith("/v1/posts"))


async def test_publish_now_resolves_platform_names_within_profile(mcp: Client, state: SandboxState) -> None:
    data = await confirmed(
        mcp,
        "posts_create",
        content="Fresh bread today",
        accounts=["twitter", "Instagram"],
        profile_id=SEED_PROFILE_ACME,
        publish_now=True,
        media_urls=["https://cdn.example.com/bread.jpg"],
    )
    post = data["post"]
    assert post["status"] == "published"
    assert {t["account_id"] for t in post["targets"]} == {
        SEED_ACCOUNT_ACME_TWITTER,
        SEED_ACCOUNT_ACME_INSTAGRAM,
    }
    assert all(t["url"].startswith("https://") for t in post["targets"])
    stored = state.posts[post["id"]]
    assert {p["platform"] for p in stored["platforms"]} == {"twitter", "instagram"}


async def test_scheduled_local_time_is_sent_as_that_instant(mcp: Client, state: SandboxState) -> None:
    nine = tomorrow_nine_local()
    data = await ok(
        mcp,
        "posts_create",
        content="Opening at nine",
        accounts=[SEED_ACCOUNT_ACME_FACEBOOK],
        scheduled_for=nine.strftime("%Y-%m-%dT%H:%M"),
        timezone="Europe/Amsterdam",
    )
    post = data["post"]
    assert post["status"] == "scheduled"
    sent = datetime.fromisoformat(post["scheduled_for"].replace("Z", "+00:00"))
    assert sent == nine.astimezone(UTC)
    assert state.posts[post["id"]]["timezone"] == "Europe/Amsterdam"


async def test_explicit_offset_wins_over_timezone(mcp: Client) -> None:
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0, second=0)
    data = await ok(
        mcp,
        "posts_create",
        content="x",
        accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for=when.astimezone(ZoneInfo("America/New_York")).isoformat(),
        timezone="Asia/Tokyo",
    )
    assert datetime.fromisoformat(data["post"]["scheduled_for"].replace("Z", "+00:00")) == when


async def test_draft_and_queue_modes(mcp: Client) -> None:
    draft = await ok(mcp, "posts_create", content="Idea", accounts=[SEED_ACCOUNT_ACME_TWITTER], is_draft=True)
    assert draft["post"]["status"] == "draft"
    slot = await ok(mcp, "queue_preview", profile_id=SEED_PROFILE_ACME, count=1)
    queued = await ok(
        mcp,
        "posts_create",
        content="Queued",
        accounts=["linkedin"],
        profile_id=SEED_PROFILE_ACME,
        use_queue=True,
    )
    assert queued["post"]["status"] == "scheduled"
    shown_at = datetime.fromisoformat(queued["post"]["scheduled_for"])  # in the post's zone
    assert shown_at == datetime.fromisoformat(slot["utc"][0].replace("Z", "+00:00"))
    following = await ok(mcp, "queue_preview", profile_id=SEED_PROFILE_ACME, count=1)
    assert following["utc"][0] > slot["utc"][0]


async def test_ambiguous_platform_name_lists_the_candidates(mcp: Client, state: SandboxState) -> None:
    before = post_requests(state)
    message = await fails(
        mcp,
        "posts_create",
        content="Sale!",
        accounts=["twitter"],
        profile_id=SEED_PROFILE_NORDIC,
        publish_now=True,
    )
    assert SEED_ACCOUNT_NORDIC_TWITTER in message and SEED_ACCOUNT_NORDIC_DEALS_TWITTER in message
    assert "@nordicoutdoor" in message and "@nordic_deals" in message
    assert "account id" in message
    everywhere = await fails(mcp, "posts_create", content="Sale!", accounts=["x"], publish_now=True)
    assert "profile_id" in everywhere and "Acme Bakery" in everywhere and "Nordic Outdoor" in everywhere
    assert everywhere.count("twitter @") == 3
    assert post_requests(state) == before


async def test_past_time_is_refused_before_any_request(mcp: Client, state: SandboxState) -> None:
    before = post_requests(state)
    message = await fails(
        mcp,
        "posts_create",
        content="Late",
        accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for="2020-01-01T09:00",
        timezone="Europe/Amsterdam",
    )
    assert "in the past" in message
    assert post_requests(state) == before and not state.posts


async def test_no_mode_and_several_modes_name_the_four_choices(mcp: Client) -> None:
    for extra in ({}, {"publish_now": True, "is_draft": True}):
        message = await fails(mcp, "posts_create", content="x", accounts=[SEED_ACCOUNT_ACME_TWITTER], **extra)
        for choice in ("publish_now", "is_draft", "use_queue", "scheduled_for"):
            assert choice in message


async def test_bad_time_zone_and_bad_time_are_explained(mcp: Client) -> None:
    message = await fails(
        mcp,
        "posts_create",
        content="x",
        accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for="2099-01-01T09:00",
        timezone="Mars/Olympus",
    )
    assert "IANA" in message
    message = await fails(
        mcp, "posts_create", content="x", accounts=[SEED_ACCOUNT_ACME_TWITTER], scheduled_for="next tuesday"
    )
    assert "ISO 8601" in message


async def test_unknown_account_and_unconnected_platform(mcp: Client) -> None:
    message = await fails(
        mcp, "posts_create", content="x", accounts=["64b0000000000000000000ff"], is_draft=True
    )
    assert "accounts_list" in message
    message = await fails(
        mcp, "posts_create", content="x", accounts=["pinterest"], profile_id=SEED_PROFILE_ACME, is_draft=True
    )
    assert "No pinterest account" in message and "invites_create" in message


async def test_media_urls_become_typed_media_items(mcp: Client, state: SandboxState) -> None:
    data = await ok(
        mcp,
        "posts_create",
        content="Look",
        accounts=[SEED_ACCOUNT_ACME_INSTAGRAM],
        is_draft=True,
        media_urls=["https://cdn.example.com/a.JPG", "https://cdn.example.com/clip.mp4?v=2"],
    )
    items = state.posts[data["post"]["id"]]["mediaItems"]
    assert [(i["type"], i["url"]) for i in items] == [
        ("image", "https://cdn.example.com/a.JPG"),
        ("video", "https://cdn.example.com/clip.mp4?v=2"),
    ]
    message = await fails(
        mcp,
        "posts_create",
        content="Look",
        accounts=[SEED_ACCOUNT_ACME_INSTAGRAM],
        is_draft=True,
        media_urls=["https://cdn.example.com/asset/123"],
    )
    assert "media_type" in message
    typed = await ok(
        mcp,
        "posts_create",
        content="Look",
        accounts=[SEED_ACCOUNT_ACME_INSTAGRAM],
        is_draft=True,
        media_urls=["https://cdn.example.com/asset/123"],
        media_type="video",
    )
    assert state.posts[typed["post"]["id"]]["mediaItems"][0]["type"] == "video"


async def test_list_get_update_delete(mcp: Client) -> None:
    created = await ok(
        mcp, "posts_create", content="Draft one " * 30, accounts=[SEED_ACCOUNT_ACME_TWITTER], is_draft=True
    )
    post_id = created["post"]["id"]
    listed = await ok(mcp, "posts_list", status="draft", profile_id=SEED_PROFILE_ACME)
    assert [p["id"] for p in listed["posts"]] == [post_id]
    assert len(listed["posts"][0]["content"]) <= 120 and listed["pagination"]["total"] == 1
    got = await ok(mcp, "posts_get", post_id=post_id)
    assert got["post"]["content"] == "Draft one " * 30
    assert got["post"]["targets"][0]["username"]
    nine = tomorrow_nine_local()
    updated = await ok(
        mcp,
        "posts_update",
        post_id=post_id,
        content="Edited",
        scheduled_for=nine.strftime("%Y-%m-%dT%H:%M"),
        timezone="Europe/Amsterdam",
    )
    assert updated["post"]["content"] == "Edited" and updated["post"]["status"] == "scheduled"
    assert datetime.fromisoformat(updated["post"]["scheduled_for"].replace("Z", "+00:00")) == nine
    assert "Nothing to update" in await fails(mcp, "posts_update", post_id=post_id)
    deleted = await confirmed(mcp, "posts_delete", post_id=post_id)
    assert deleted == {"deleted": post_id}
    assert "404" in await fails(mcp, "posts_get", post_id=post_id)


async def test_published_posts_cannot_be_edited_or_deleted(mcp: Client) -> None:
    data = await confirmed(
        mcp, "posts_create", content="Live", accounts=[SEED_ACCOUNT_ACME_TWITTER], publish_now=True
    )
    post_id = data["post"]["id"]
    assert "published" in (await fails(mcp, "posts_update", post_id=post_id, content="x")).lower()
    assert "cannot be deleted" in await fails(mcp, "posts_delete", post_id=post_id)


async def test_retry_republishes_a_failed_post(mcp: Client, state: SandboxState) -> None:
    data = await ok(mcp, "posts_create", content="Try", accounts=[SEED_ACCOUNT_ACME_TWITTER], is_draft=True)
    post_id = data["post"]["id"]
    assert "retried" in (await fails(mcp, "posts_retry", post_id=post_id)).lower()
    state.fail_post(post_id, "Platform timed out")
    failed = await ok(mcp, "posts_get", post_id=post_id)
    assert failed["post"]["targets"][0]["error"] == "Platform timed out"
    retried = await ok(mcp, "posts_retry", post_id=post_id)
    assert retried["post"]["status"] == "published"


async def test_invalid_arguments_are_explained_and_the_server_keeps_serving(mcp: Client) -> None:
    message = await fails(mcp, "posts_list", limit=1000, platform="myspace")
    assert "limit" in message and "platform" in message and "twitter" in message
    message = await fails(
        mcp, "posts_create", content="x", accounts=["twitter"], publish_now=True, time_zone="Europe/Amsterdam"
    )
    assert "Unknown argument" in message and "time_zone" in message and "timezone" in message
    message = await fails(mcp, "posts_get", post_id="../../v1/profiles")
    assert "post_id" in message
    assert (await ok(mcp, "posts_list"))["pagination"]["page"] == 1
