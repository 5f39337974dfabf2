"""Which zone a time is read and shown in (issue 15, items 1 and 2), through real MCP sessions
against the sandbox: the call's timezone, the offset, the client's queue zone, LATE_TIMEZONE, then
this computer; every answer names the zone and what decided it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
import pytest
import tzlocal
from mcp import Client

from conftest import call, fails, make_settings, ok, structured, text
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_ACCOUNT_NORDIC_TWITTER,
    SEED_PROFILE_ACME,
    SEED_PROFILE_NORDIC,
)
from late_mcp.server.build import build_server

pytestmark = pytest.mark.anyio
SLOTS = [{"dayOfWeek": d, "time": "09:00"} for d in range(7)]
NEW_YORK, OSLO, TOKYO = "America/New_York", "Europe/Oslo", "Asia/Tokyo"


@pytest.fixture(autouse=True)
def computer_in_tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This computer's zone is Asia/Tokyo (as tzlocal reads it), so no zone below is the machine's
    by accident; tzlocal's cache is reset afterwards."""
    monkeypatch.setenv("TZ", TOKYO)
    tzlocal.reload_localzone()
    yield
    monkeypatch.undo()
    tzlocal.reload_localzone()


@asynccontextmanager
async def session(late: httpx2.AsyncBaseTransport, **settings: Any) -> AsyncIterator[Client]:
    async with Client(build_server(make_settings(**settings), transport=late), mode="legacy") as client:
        yield client


def tomorrow(at: str = "09:00") -> str:
    return (datetime.now(UTC) + timedelta(days=1)).strftime(f"%Y-%m-%dT{at}")


def queue_reads(state: SandboxState) -> int:
    return sum(1 for method, path in state.requests if method == "GET" and path.endswith("/v1/queue/slots"))


def instant(data: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(data["post"]["scheduled_for"].replace("Z", "+00:00"))


POST = {"content": "Nine o'clock", "accounts": [SEED_ACCOUNT_ACME_TWITTER]}


async def test_a_local_time_takes_the_clients_queue_zone_before_late_timezone_and_this_computer(
    late_transport: httpx2.AsyncBaseTransport, state: SandboxState
) -> None:
    state.set_queue(SEED_PROFILE_ACME, NEW_YORK, SLOTS)
    local = tomorrow()
    async with session(late_transport, timezone=OSLO) as client:  # LATE_TIMEZONE=Europe/Oslo
        result = await call(client, "posts_create", **POST, scheduled_for=local)
        assert not result.is_error, text(result)
        data = structured(result)
        assert data is not None
        assert instant(data) == datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(NEW_YORK))
        assert data["when"]["zone"] == NEW_YORK and data["when"]["zone_source"] == "the client's queue zone"
        assert f"09:00 {NEW_YORK} (the client's queue zone), in " in text(result).split("\n", 1)[0]
        assert state.posts[data["post"]["id"]]["timezone"] == NEW_YORK
        assert queue_reads(state) == 1  # one request, for the one client

        # The call's timezone and an offset decide without asking Late for the queue.
        explicit = await ok(
            client, "posts_create", **{**POST, "content": "A"}, scheduled_for=local, timezone=TOKYO
        )
        assert explicit["when"]["zone_source"] == "timezone argument" and explicit["when"]["zone"] == TOKYO
        offset = await ok(client, "posts_create", **{**POST, "content": "B"}, scheduled_for=f"{local}+05:30")
        assert offset["when"]["zone"] == "UTC+05:30"
        assert offset["when"]["zone_source"] == "the offset in scheduled_for"
        assert queue_reads(state) == 1

        # Without a queue zone, LATE_TIMEZONE comes next.
        del state.queues[SEED_PROFILE_ACME]
        configured = await ok(client, "posts_create", **{**POST, "content": "C"}, scheduled_for=local)
        assert configured["when"]["zone"] == OSLO and configured["when"]["zone_source"] == "LATE_TIMEZONE"


async def test_clients_in_different_zones_are_refused_asking_for_timezone(
    late_transport: httpx2.AsyncBaseTransport, state: SandboxState
) -> None:
    state.set_queue(SEED_PROFILE_ACME, NEW_YORK, SLOTS)
    state.set_queue(SEED_PROFILE_NORDIC, OSLO, SLOTS)
    both = {**POST, "accounts": [SEED_ACCOUNT_ACME_TWITTER, SEED_ACCOUNT_NORDIC_TWITTER]}
    async with session(late_transport) as client:
        message = await fails(client, "posts_create", **both, scheduled_for=tomorrow())
        assert "scheduled_for has no UTC offset" in message and "clients in different zones" in message
        assert f'"Acme Bakery" {NEW_YORK}' in message and f'"Nordic Outdoor" {OSLO}' in message
        assert "pass timezone" in message and "with an offset" in message
        assert not state.posts
        data = await ok(client, "posts_create", **both, scheduled_for=tomorrow(), timezone=OSLO)
        assert data["when"]["zone"] == OSLO and data["when"]["zone_source"] == "timezone argument"


async def test_validate_warns_when_the_zone_came_from_this_computer(
    late_transport: httpx2.AsyncBaseTransport, state: SandboxState
) -> None:
    del state.queues[SEED_PROFILE_ACME]
    async with session(late_transport) as client:  # stdio, no LATE_TIMEZONE, no queue zone
        result = await call(client, "posts_validate", **POST, scheduled_for=tomorrow())
    summary = text(result).split("\n", 1)[0]
    assert not result.is_error and summary.startswith("Valid for 1 account at ")
    assert f"09:00 {TOKYO} (this computer's zone)" in summary
    warning = (
        f"09:00 was read in this computer's zone ({TOKYO}), which may not be the client's: pass timezone"
    )
    assert f"Warning: {warning}" in summary
    assert structured(result) is not None
    assert structured(result)["zone_warning"].startswith(warning)


async def test_over_http_the_clients_queue_zone_reads_a_local_time(
    late_transport: httpx2.AsyncBaseTransport, state: SandboxState
) -> None:
    """Over HTTP this computer's zone is never used; the client's queue zone is, and without one
    the local time is refused (test_right_post.py)."""
    state.set_queue(SEED_PROFILE_ACME, NEW_YORK, SLOTS)
    async with session(late_transport, transport="http") as client:
        data = await ok(client, "posts_create", **POST, scheduled_for=tomorrow())
    assert data["when"]["zone"] == NEW_YORK and data["when"]["zone_source"] == "the client's queue zone"


async def test_validate_warns_when_the_zone_differs_from_the_clients(
    late_transport: httpx2.AsyncBaseTransport, state: SandboxState
) -> None:
    """The seeded clients' queues are in Europe/Amsterdam (+01:00 in December)."""
    day = (datetime.now(UTC) + timedelta(days=1)).date()
    amsterdam_nine = datetime.combine(day, datetime.min.time()).replace(
        hour=9, tzinfo=ZoneInfo("Europe/Amsterdam")
    )
    london = datetime.fromisoformat(tomorrow()).replace(tzinfo=ZoneInfo("Europe/London"))
    async with session(late_transport) as client:
        other = await call(
            client, "posts_validate", **POST, scheduled_for=tomorrow(), timezone="Europe/London"
        )
        theirs = london.astimezone(ZoneInfo("Europe/Amsterdam")).strftime("%H:%M")
        expected = (
            f"09:00 Europe/London (timezone argument) is {theirs} in the client's queue zone "
            "Europe/Amsterdam: check which the person means."
        )
        assert f"Warning: {expected}" in text(other)
        assert structured(other) is not None and structured(other)["zone_warning"] == expected
        shifted = await call(client, "posts_validate", **POST, scheduled_for=f"{tomorrow()}+05:30")
        assert "09:00 UTC+05:30 (the offset in scheduled_for) is " in text(shifted)
        assert "in the client's queue zone Europe/Amsterdam" in text(shifted)
        same = await call(client, "posts_validate", **POST, scheduled_for=amsterdam_nine.isoformat())
        paris = await call(
            client, "posts_validate", **POST, scheduled_for=tomorrow(), timezone="Europe/Paris"
        )
    for quiet in (same, paris):
        assert not quiet.is_error and "Warning" not in text(quiet), text(quiet)
        assert structured(quiet) is not None and "zone_warning" not in structured(quiet)


async def test_results_show_times_in_the_zone_asked_in_else_the_clients(
    late_transport: httpx2.AsyncBaseTransport, state: SandboxState
) -> None:
    """Asked at 09:00+01:00 on a computer in another zone: shown as 09:00 UTC+01:00, not in the
    computer's zone; a queue slot is shown in the client's queue zone."""
    async with session(late_transport) as client:
        given = await ok(client, "posts_create", **POST, scheduled_for=f"{tomorrow()}+01:00")
        assert given["when"]["local"].endswith(" 09:00 UTC+01:00")
        assert TOKYO not in str(given["when"])
        queued = await ok(client, "posts_create", **{**POST, "content": "Q"}, use_queue=True)
        assert queued["when"]["zone"] == "Europe/Amsterdam"
        assert queued["when"]["zone_source"] == "the client's queue zone"
        slot = instant(queued).astimezone(ZoneInfo("Europe/Amsterdam"))
        assert queued["when"]["local"].endswith(f" {slot:%H:%M} Europe/Amsterdam")


async def test_posts_update_names_only_what_decided_the_zone(
    late_transport: httpx2.AsyncBaseTransport, state: SandboxState
) -> None:
    async with session(late_transport) as client:
        created = await ok(client, "posts_create", **POST, scheduled_for=tomorrow(), timezone=NEW_YORK)
        post_id = created["post"]["id"]
        text_only = await call(client, "posts_update", post_id=post_id, content="New text")
        data = structured(text_only)
        assert data is not None and data["when"]["zone"] == NEW_YORK
        assert data["when"]["zone_source"] == "the post's zone"
        assert f"09:00 {NEW_YORK} (the post's zone)" in text(text_only)
        moved = await ok(client, "posts_update", post_id=post_id, scheduled_for=tomorrow("10:00"))
        assert moved["when"]["zone_source"] == "the post's zone"
        assert instant(moved) == datetime.fromisoformat(tomorrow("10:00")).replace(tzinfo=ZoneInfo(NEW_YORK))
        argued = await ok(
            client, "posts_update", post_id=post_id, scheduled_for=tomorrow("11:00"), timezone=OSLO
        )
        assert argued["when"]["zone_source"] == "timezone argument" and argued["when"]["zone"] == OSLO
        offset = await ok(client, "posts_update", post_id=post_id, scheduled_for=f"{tomorrow('12:00')}-03:00")
        assert offset["when"]["zone_source"] == "the offset in scheduled_for"
        assert offset["when"]["local"].endswith(" 12:00 UTC-03:00")


async def test_posts_read_back_in_the_zone_they_were_asked_in(
    late_transport: httpx2.AsyncBaseTransport, state: SandboxState
) -> None:
    """Late stores UTC; posts_get and posts_list show the same instant in the post's zone."""
    local = tomorrow()
    asked = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(NEW_YORK))
    async with session(late_transport) as client:
        created = await ok(client, "posts_create", **POST, scheduled_for=local, timezone=NEW_YORK)
        got = await ok(client, "posts_get", post_id=created["post"]["id"])
        listed = await ok(client, "posts_list", profile_id=SEED_PROFILE_ACME, status="scheduled")
    assert state.posts[created["post"]["id"]]["scheduledFor"].endswith("Z")  # Late's own form
    mine = [p for p in listed["posts"] if p["id"] == created["post"]["id"]]
    assert len(mine) == 1
    for shown in (created["post"], got["post"], *mine):
        assert shown["scheduled_for"] == asked.isoformat(timespec="minutes"), shown
        assert shown["timezone"] == NEW_YORK
