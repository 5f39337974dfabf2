"""Analytics for the agency: per-post figures, best times, followers, a report whose totals add up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mcp import Client

from conftest import confirmed, fails, ok
from late_mcp.sandbox.state import SEED_ACCOUNT_ACME_TWITTER, SEED_PROFILE_ACME, SandboxState

pytestmark = pytest.mark.anyio
SUMMED = ("posts", "impressions", "reach", "likes", "comments", "shares", "clicks")


def today() -> datetime:
    return datetime.now(UTC)


async def test_posts_carry_figures_of_the_seeded_history(mcp: Client, state: SandboxState) -> None:
    data = await ok(mcp, "analytics_posts", profile_id=SEED_PROFILE_ACME, limit=5)
    assert len(data["posts"]) == 5 and data["total"] == 80  # 20 posts for each of Acme's 4 accounts
    for row in data["posts"]:
        seeded = state.history[row["id"]]["analytics"]
        assert row["impressions"] == seeded["impressions"] > 0 and row["likes"] == seeded["likes"]
        assert row["engagement_rate"] == seeded["engagementRate"] and row["url"].startswith("https://")
    dates = [row["published_at"] for row in data["posts"]]
    assert dates == sorted(dates, reverse=True)
    ranked = await ok(
        mcp, "analytics_posts", profile_id=SEED_PROFILE_ACME, sort="engagement", platform="twitter"
    )
    rates = [row["engagement_rate"] for row in ranked["posts"]]
    assert rates == sorted(rates, reverse=True) and {row["platform"] for row in ranked["posts"]} == {
        "twitter"
    }


async def test_a_post_published_through_late_gets_figures(mcp: Client) -> None:
    published = await confirmed(
        mcp, "posts_create", content="Launch!", accounts=[SEED_ACCOUNT_ACME_TWITTER], publish_now=True
    )
    data = await ok(mcp, "analytics_posts", profile_id=SEED_PROFILE_ACME, limit=1)
    assert data["posts"][0]["id"] == published["post"]["id"] and data["posts"][0]["impressions"] > 0


async def test_report_totals_add_up_and_compare_with_the_previous_period(mcp: Client) -> None:
    start, end = (today() - timedelta(days=29)).date(), today().date()
    report = await ok(
        mcp, "analytics_report", profile_id=SEED_PROFILE_ACME, from_date=str(start), to_date=str(end)
    )
    totals, platforms = report["totals"], report["platforms"]
    assert {p["platform"] for p in platforms} == {"twitter", "instagram", "linkedin", "facebook"}
    for name in SUMMED:
        assert totals[name] == sum(p[name] for p in platforms), name
    listed = await ok(
        mcp,
        "analytics_posts",
        profile_id=SEED_PROFILE_ACME,
        from_date=str(start),
        to_date=str(end),
        limit=100,
    )
    assert totals["posts"] == len(listed["posts"]) == listed["total"] > 0
    assert totals["impressions"] == sum(row["impressions"] for row in listed["posts"])
    engaged = totals["engagement_rate"] * totals["impressions"] / 100
    assert engaged > totals["likes"]  # likes + comments + shares (+ saves) over impressions
    assert report["previous"].endswith(str(start - timedelta(days=1)))
    assert report["change_pct"]["impressions"] is not None and len(report["top_posts"]) == 3
    top = [p["likes"] + p["comments"] + p["shares"] for p in report["top_posts"]]
    assert top[0] >= top[-1]


async def test_report_refuses_a_backwards_period(mcp: Client) -> None:
    message = await fails(
        mcp, "analytics_report", profile_id=SEED_PROFILE_ACME, from_date="2026-02-01", to_date="2026-01-01"
    )
    assert "before from_date" in message


async def test_best_times_and_followers(mcp: Client) -> None:
    best = await ok(mcp, "analytics_best_times", profile_id=SEED_PROFILE_ACME)
    slots = best["slots"]
    assert slots and slots[0]["day"] in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    assert [s["avg_engagement"] for s in slots] == sorted((s["avg_engagement"] for s in slots), reverse=True)
    followers = await ok(mcp, "accounts_followers", profile_id=SEED_PROFILE_ACME)
    assert len(followers["accounts"]) == 4 and all(a["followers"] > 0 for a in followers["accounts"])
    one = await ok(mcp, "accounts_followers", account_ids=[SEED_ACCOUNT_ACME_TWITTER])
    assert [a["account_id"] for a in one["accounts"]] == [SEED_ACCOUNT_ACME_TWITTER]


async def test_a_plan_without_the_analytics_addon_is_told_so(mcp: Client, state: SandboxState) -> None:
    state.analytics_addon = False
    calls = {
        "analytics_posts": {},
        "analytics_best_times": {},
        "accounts_followers": {},
        "analytics_report": {
            "profile_id": SEED_PROFILE_ACME,
            "from_date": "2026-01-01",
            "to_date": "2026-01-31",
        },
    }
    for name, arguments in calls.items():
        message = await fails(mcp, name, **arguments)
        assert "Analytics add-on" in message and "getlate.dev/dashboard" in message, (name, message)
