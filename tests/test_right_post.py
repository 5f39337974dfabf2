"""The right accounts, the right time, and nothing irreversible without the person's yes:
account references, time zones, preview-then-confirm and elicitation, through real MCP sessions."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx2
import pytest
import tzlocal
from mcp import Client

from conftest import asking, call, confirmed, fails, make_settings, ok, structured, text
from late_mcp.safety import confirm as confirm_module
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_INSTAGRAM,
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_ACCOUNT_NORDIC_DEALS_TWITTER,
    SEED_ACCOUNT_NORDIC_TWITTER,
    SEED_PROFILE_ACME,
    SEED_PROFILE_NORDIC,
)
from late_mcp.server.build import build_server

pytestmark = pytest.mark.anyio
DRAFT = {"content": "Hello", "is_draft": True}


def creates(state: SandboxState) -> int:
    return sum(1 for method, path in state.requests if method == "POST" and path.endswith("/v1/posts"))


@asynccontextmanager
async def session(late: httpx2.AsyncBaseTransport, **settings: Any) -> AsyncIterator[Client]:
    async with Client(build_server(make_settings(**settings), transport=late), mode="legacy") as client:
        yield client


# -- account references ------------------------------------------------------------------------


async def test_handles_name_one_account_case_insensitively(mcp: Client) -> None:
    by_handle = await ok(mcp, "posts_create", accounts=["@NORDIC_DEALS"], **DRAFT)
    (target,) = by_handle["post"]["targets"]
    assert target["account_id"] == SEED_ACCOUNT_NORDIC_DEALS_TWITTER
    assert target["username"] == "nordic_deals" and target["profile"] == "Nordic Outdoor"
    by_platform = await ok(
        mcp, "posts_create", accounts=["Instagram:@AcmeBakery"], content="Hi", is_draft=True
    )
    assert by_platform["post"]["targets"][0]["account_id"] == SEED_ACCOUNT_ACME_INSTAGRAM


async def test_an_ambiguous_handle_is_refused_with_the_candidates(mcp: Client, state: SandboxState) -> None:
    before = creates(state)
    message = await fails(mcp, "posts_create", accounts=["@acmebakery"], **DRAFT)
    assert "matches 2 accounts" in message
    assert SEED_ACCOUNT_ACME_TWITTER in message and SEED_ACCOUNT_ACME_INSTAGRAM in message
    assert "platform:@username" in message
    unknown = await fails(mcp, "posts_create", accounts=["twitter:@nobody"], **DRAFT)
    assert "'twitter:@nobody'" in unknown and "accounts_list" in unknown
    assert "not a platform name" in await fails(mcp, "posts_create", accounts=["myspace:@acme"], **DRAFT)
    assert creates(state) == before


async def test_a_platform_name_never_picks_a_client_silently(mcp: Client, state: SandboxState) -> None:
    """Only Acme has an Instagram account, yet with two clients 'instagram' alone is refused."""
    before = creates(state)
    message = await fails(mcp, "posts_create", accounts=["instagram"], **DRAFT)
    assert "profile_id" in message and "2 profiles" in message
    candidate = f'"Acme Bakery" ({SEED_PROFILE_ACME}): instagram @acmebakery [{SEED_ACCOUNT_ACME_INSTAGRAM}]'
    assert candidate in message
    twitter = await fails(mcp, "posts_create", accounts=["twitter"], **DRAFT)
    assert (
        f'"Nordic Outdoor" ({SEED_PROFILE_NORDIC}):' in twitter
        and f'"Acme Bakery" ({SEED_PROFILE_ACME}):' in twitter
    )
    assert SEED_ACCOUNT_NORDIC_TWITTER in twitter and SEED_ACCOUNT_NORDIC_DEALS_TWITTER in twitter
    assert creates(state) == before
    accepted = await ok(mcp, "posts_create", accounts=["instagram"], profile_id=SEED_PROFILE_ACME, **DRAFT)
    assert accepted["post"]["targets"][0]["profile"] == "Acme Bakery"
    assert 'instagram @acmebakery ("Acme Bakery")' in text(
        await call(mcp, "posts_get", post_id=accepted["post"]["id"])
    )


async def test_a_name_works_without_profile_id_when_there_is_one_client(
    mcp: Client, state: SandboxState
) -> None:
    for account in list(state.accounts.values()):
        if account["profileId"] == SEED_PROFILE_NORDIC:
            del state.accounts[account["_id"]]
    del state.profiles[SEED_PROFILE_NORDIC]
    data = await ok(mcp, "posts_create", accounts=["twitter"], **DRAFT)
    assert data["post"]["targets"][0]["account_id"] == SEED_ACCOUNT_ACME_TWITTER


# -- time ----------------------------------------------------------------------------------------


def tomorrow_at_nine() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT09:00")


def instant(data: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(data["post"]["scheduled_for"].replace("Z", "+00:00"))


async def test_a_local_time_uses_timezone_then_late_timezone_then_this_computer(
    late_transport: httpx2.AsyncBaseTransport, state: SandboxState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a queue zone for the client (test_zones.py has the queue zone in the order)."""
    local = tomorrow_at_nine()
    post = {"content": "Nine o'clock", "accounts": [SEED_ACCOUNT_ACME_TWITTER], "scheduled_for": local}
    del state.queues[SEED_PROFILE_ACME]
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # this computer's zone, as tzlocal reads it
    tzlocal.reload_localzone()
    async with session(late_transport, timezone="America/New_York") as client:
        explicit = await ok(client, "posts_create", **post, timezone="Europe/Amsterdam")
        configured = await ok(client, "posts_create", **{**post, "content": "Configured"})
    async with session(late_transport) as client:
        machine = await ok(client, "posts_create", **{**post, "content": "Machine"})
    for data, zone, source in (
        (explicit, "Europe/Amsterdam", "timezone argument"),
        (configured, "America/New_York", "LATE_TIMEZONE"),
        (machine, "Asia/Tokyo", "this computer's zone"),
    ):
        expected = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone))
        assert instant(data) == expected, zone
        assert data["when"]["zone"] == zone and data["when"]["zone_source"] == source
        assert data["when"]["local"].endswith(f" 09:00 {zone}")


async def test_over_http_a_local_time_without_a_zone_is_refused(
    late_transport: httpx2.AsyncBaseTransport, state: SandboxState
) -> None:
    post = {"content": "x", "accounts": [SEED_ACCOUNT_ACME_TWITTER]}
    del state.queues[SEED_PROFILE_ACME]  # no zone of the client's own either
    async with session(late_transport, transport="http") as client:
        message = await fails(client, "posts_create", **post, scheduled_for=tomorrow_at_nine())
        assert "pass timezone" in message and "LATE_TIMEZONE" in message
        assert not state.posts
        offset = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
        data = await ok(client, "posts_create", **post, scheduled_for=offset.isoformat())
        assert instant(data) == offset and data["when"]["zone"] == "UTC"


async def test_results_echo_the_local_time_with_weekday_and_distance(mcp: Client) -> None:
    amsterdam = ZoneInfo("Europe/Amsterdam")
    when = (datetime.now(amsterdam) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    result = await call(
        mcp,
        "posts_create",
        content="Echo",
        accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for=when.strftime("%Y-%m-%dT%H:%M"),
        timezone="Europe/Amsterdam",
    )
    shown = f"{when:%a} {when.day} {when:%b %Y} 09:00 Europe/Amsterdam"
    line = text(result).split("\n", 1)[0]
    assert f"Scheduled for {shown} (timezone argument), in " in line
    assert 'twitter @acmebakery ("Acme Bakery")' in line
    assert re.search(r", in (1 day|2 days)( \d+ h)?", line), line
    assert structured(result) is not None
    assert structured(result)["when"]["utc"] == when.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def test_time_now_tells_the_model_the_date(mcp: Client) -> None:
    data = await ok(mcp, "time_now", timezone="Pacific/Auckland")
    now = datetime.now(ZoneInfo("Pacific/Auckland"))
    assert data["zone"] == "Pacific/Auckland" and data["local"].startswith(f"{now:%a} {now.day} {now:%b %Y}")
    assert abs(datetime.fromisoformat(data["utc"].replace("Z", "+00:00")) - datetime.now(UTC)) < timedelta(
        minutes=5
    )
    assert "IANA" in await fails(mcp, "time_now", timezone="Moon/Base")


# -- preview, then confirm -----------------------------------------------------------------------

PUBLISH = {
    "content": "Live now",
    "accounts": ["twitter"],
    "profile_id": SEED_PROFILE_ACME,
    "publish_now": True,
}


async def test_publish_now_previews_then_publishes_with_the_token(mcp: Client, state: SandboxState) -> None:
    preview = await ok(mcp, "posts_create", **PUBLISH)
    assert preview["status"] == "preview" and not state.posts and creates(state) == 0
    (target,) = preview["preview"]["targets"]
    assert target["account"]["username"] == "acmebakery" and target["account"]["profile"] == "Acme Bakery"
    assert target["text"] == "Live now" and "publicly" in preview["preview"]["effect"]
    published = await ok(mcp, "posts_create", **PUBLISH, confirm=preview["confirm_token"])
    assert published["post"]["status"] == "published" and len(state.posts) == 1
    journal = await ok(mcp, "journal_recent")
    assert [e["tool"] for e in journal["entries"]] == ["posts_create"]  # the preview changed nothing


async def test_a_token_for_other_arguments_is_refused_with_a_new_preview(
    mcp: Client, state: SandboxState
) -> None:
    preview = await ok(mcp, "posts_create", **PUBLISH)
    result = await call(
        mcp, "posts_create", **{**PUBLISH, "content": "Something else"}, confirm=preview["confirm_token"]
    )
    assert result.is_error and "other arguments" in text(result) and not state.posts
    refused = structured(result) or {}
    assert (
        refused["error"]["kind"] == "confirmation"
        and refused["preview"]["targets"][0]["text"] == "Something else"
    )
    assert refused["confirm_token"] != preview["confirm_token"]
    assert "not a confirm_token" in await fails(mcp, "posts_create", **PUBLISH, confirm="yes please")
    done = await ok(
        mcp, "posts_create", **{**PUBLISH, "content": "Something else"}, confirm=refused["confirm_token"]
    )
    assert done["post"]["status"] == "published"


async def test_an_expired_token_is_refused(
    mcp: Client, state: SandboxState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(confirm_module, "CONFIRM_TTL_S", -1)
    preview = await ok(mcp, "posts_create", **PUBLISH)
    message = await fails(mcp, "posts_create", **PUBLISH, confirm=preview["confirm_token"])
    assert "expired" in message and not state.posts


async def test_deletes_and_disconnects_preview_first(mcp: Client, state: SandboxState) -> None:
    draft = await ok(mcp, "posts_create", content="Bye", accounts=[SEED_ACCOUNT_ACME_TWITTER], is_draft=True)
    post_id = draft["post"]["id"]
    preview = await ok(mcp, "posts_delete", post_id=post_id)
    assert preview["preview"]["post"]["targets"][0]["profile"] == "Acme Bakery" and post_id in state.posts
    await ok(mcp, "posts_delete", post_id=post_id, confirm=preview["confirm_token"])
    assert post_id not in state.posts
    other = await ok(
        mcp, "posts_create", content="Other", accounts=[SEED_ACCOUNT_ACME_TWITTER], is_draft=True
    )
    assert "other arguments" in await fails(
        mcp, "posts_delete", post_id=other["post"]["id"], confirm=preview["confirm_token"]
    )
    disconnect = await ok(mcp, "accounts_disconnect", account_id=SEED_ACCOUNT_NORDIC_TWITTER)
    assert disconnect["preview"]["account"] == {
        "account_id": SEED_ACCOUNT_NORDIC_TWITTER,
        "platform": "twitter",
        "username": "nordicoutdoor",
        "profile": "Nordic Outdoor",
        "profile_id": SEED_PROFILE_NORDIC,
    }
    assert SEED_ACCOUNT_NORDIC_TWITTER in state.accounts
    profile = await ok(mcp, "profiles_create", name="Short-lived")
    removed = await confirmed(mcp, "profiles_delete", profile_id=profile["profile"]["id"])
    assert removed == {"deleted": profile["profile"]["id"], "revoked_invites": []}
    assert profile["profile"]["id"] not in state.profiles


async def test_late_confirm_off_acts_at_once(
    late_transport: httpx2.AsyncBaseTransport, state: SandboxState
) -> None:
    async with session(late_transport, confirm=False) as client:
        data = await ok(client, "posts_create", **PUBLISH)
    assert data["post"]["status"] == "published" and len(state.posts) == 1


@pytest.mark.parametrize(
    ("action", "confirm", "published"),
    [("accept", True, True), ("accept", False, False), ("decline", True, False), ("cancel", True, False)],
)
async def test_elicitation_asks_the_person_directly(
    late_transport: httpx2.AsyncBaseTransport,
    state: SandboxState,
    action: str,
    confirm: bool,
    published: bool,
) -> None:
    callback = asking(action, confirm=confirm)
    server = build_server(make_settings(), transport=late_transport)
    async with Client(server, mode="legacy", elicitation_callback=callback) as client:
        data = await ok(client, "posts_create", **PUBLISH)
        journal = await ok(client, "journal_recent")
    (question,) = callback.asked
    assert 'publish now to 1 public account: twitter @acmebakery ("Acme Bakery")' in question
    assert "Live now" in question
    if published:
        assert data["post"]["status"] == "published" and len(state.posts) == 1
        assert len(journal["entries"]) == 1
    else:
        assert data["status"] == "declined" and "confirm_token" not in data
        assert not state.posts and creates(state) == 0 and journal["entries"] == []


@pytest.fixture(autouse=True)
def machine_zone_from_the_environment() -> Any:
    """tzlocal caches the computer's zone; a test that sets TZ must not leak it into others."""
    yield
    tzlocal.reload_localzone()


async def test_one_token_confirmed_ten_times_at_once_publishes_once(mcp: Client, state: SandboxState) -> None:
    preview = await ok(mcp, "posts_create", **PUBLISH)
    results: list[Any] = []

    async def confirm_once() -> None:
        results.append(await call(mcp, "posts_create", **PUBLISH, confirm=preview["confirm_token"]))

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(confirm_once)
    assert len(state.posts) == 1 and creates(state) == 1
    assert all(not r.is_error for r in results), [text(r) for r in results if r.is_error]
    assert sum("Replayed" in text(r) for r in results) == 9  # a confirmed call runs once
    assert len({str(structured(r)) for r in results}) == 1


async def test_ten_confirmed_deletes_at_once_delete_once(mcp: Client, state: SandboxState) -> None:
    draft = await ok(mcp, "posts_create", content="Once", accounts=[SEED_ACCOUNT_ACME_TWITTER], is_draft=True)
    post_id = draft["post"]["id"]
    preview = await ok(mcp, "posts_delete", post_id=post_id)
    results: list[Any] = []

    async def confirm_once() -> None:
        results.append(await call(mcp, "posts_delete", post_id=post_id, confirm=preview["confirm_token"]))

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(confirm_once)
    deletes = [p for m, p in state.requests if m == "DELETE" and p.endswith(post_id)]
    assert post_id not in state.posts and len(deletes) == 1
    assert all(not r.is_error for r in results) and sum("Replayed" in text(r) for r in results) == 9
