"""Queue set-up for a new client: slots, preview, use_queue; dropping slots asks first."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client

from conftest import confirmed, fails, ok, structured
from late_mcp.sandbox.state import SEED_PROFILE_ACME, SandboxState

pytestmark = pytest.mark.anyio
WEEKDAYS_9 = [{"day_of_week": d, "time": "09:00"} for d in range(1, 6)]


async def test_new_profile_queue_setup_then_use_queue(mcp: Client, state: SandboxState) -> None:
    profile = (await ok(mcp, "profiles_create", name="Corner Cafe"))["profile"]["id"]
    account = state._add_account(profile, "twitter", "cornercafe", "Corner Cafe")["_id"]
    before = await fails(mcp, "queue_preview", profile_id=profile, count=1)
    assert "queue_slots_set" in before and "Check the id" not in before
    assert "queue_slots_set" in await fails(mcp, "queue_preview", profile_id=profile)
    empty = await ok(mcp, "queue_slots_get", profile_id=profile)
    assert empty["exists"] is False
    refused = await fails(
        mcp, "posts_create", content="Hello", accounts=[account], use_queue=True, profile_id=profile
    )
    assert "queue_slots_set" in refused
    data = await ok(mcp, "queue_slots_set", profile_id=profile, timezone="Europe/Berlin", slots=WEEKDAYS_9)
    assert data["exists"] and len(data["slots"]) == 5 and data["timezone"] == "Europe/Berlin"
    assert state.queues[profile]["slots"][0] == {"dayOfWeek": 1, "time": "09:00"}
    shown = await ok(mcp, "queue_slots_get", profile_id=profile)
    assert shown["slots"] == data["slots"] and "09:00 Europe/Berlin" in shown["next"][0]
    preview = await ok(mcp, "queue_preview", profile_id=profile, count=3)
    assert len(preview["slots"]) == 3 and all("09:00 Europe/Berlin" in s for s in preview["slots"])
    queued = await ok(
        mcp,
        "posts_create",
        content="Hello",
        accounts=[account],
        use_queue=True,
        profile_id=profile,
        timezone="Europe/Berlin",
    )
    assert queued["post"]["status"] == "scheduled" and queued["when"]["local"] == preview["slots"][0]
    after = await ok(mcp, "queue_preview", profile_id=profile, count=1)
    assert after["slots"][0] == preview["slots"][1]  # the taken slot is no longer free


async def test_adding_slots_needs_no_confirmation(mcp: Client, state: SandboxState) -> None:
    slots = [{"day_of_week": d, "time": t} for d in range(1, 6) for t in ("09:00", "15:00")]
    slots.append({"day_of_week": 6, "time": "10:30"})
    data = await ok(
        mcp, "queue_slots_set", profile_id=SEED_PROFILE_ACME, timezone="Europe/Amsterdam", slots=slots
    )
    assert len(data["slots"]) == 11 and len(state.queues[SEED_PROFILE_ACME]["slots"]) == 11


async def test_dropping_slots_previews_then_confirms(mcp: Client, state: SandboxState) -> None:
    preview = await ok(
        mcp, "queue_slots_set", profile_id=SEED_PROFILE_ACME, timezone="Europe/Amsterdam", slots=WEEKDAYS_9
    )
    assert preview["status"] == "preview" and "Mon 15:00" in preview["preview"]["drops"]
    assert len(state.queues[SEED_PROFILE_ACME]["slots"]) == 10  # nothing changed yet
    done = await confirmed(
        mcp, "queue_slots_set", profile_id=SEED_PROFILE_ACME, timezone="Europe/Amsterdam", slots=WEEKDAYS_9
    )
    assert len(done["slots"]) == 5 and len(state.queues[SEED_PROFILE_ACME]["slots"]) == 5
    entries = [e for e in (await ok(mcp, "journal_recent"))["entries"] if e["tool"] == "queue_slots_set"]
    assert len(entries) == 1 and entries[0]["outcome"] == "ok", entries


async def test_changing_the_zone_counts_as_dropping(mcp: Client) -> None:
    slots = [{"day_of_week": d, "time": t} for d in range(1, 6) for t in ("09:00", "15:00")]
    preview = await ok(
        mcp, "queue_slots_set", profile_id=SEED_PROFILE_ACME, timezone="Asia/Tokyo", slots=slots
    )
    assert preview["status"] == "preview" and len(preview["preview"]["drops"]) == 10


async def test_bad_slots_are_refused_with_the_rule(mcp: Client, state: SandboxState) -> None:
    bad_time = await fails(
        mcp,
        "queue_slots_set",
        profile_id=SEED_PROFILE_ACME,
        timezone="UTC",
        slots=[{"day_of_week": 1, "time": "9am"}],
    )
    assert "slots.0.time" in bad_time
    bad_day = await fails(
        mcp,
        "queue_slots_set",
        profile_id=SEED_PROFILE_ACME,
        timezone="UTC",
        slots=[{"day_of_week": 7, "time": "09:00"}],
    )
    assert "slots.0.day_of_week" in bad_day
    bad_zone = await fails(
        mcp, "queue_slots_set", profile_id=SEED_PROFILE_ACME, timezone="Mars/Base", slots=WEEKDAYS_9
    )
    assert "IANA" in bad_zone and len(state.queues[SEED_PROFILE_ACME]["slots"]) == 10


async def test_concurrent_confirmed_replacements_send_once(mcp: Client, state: SandboxState) -> None:
    args = {"profile_id": SEED_PROFILE_ACME, "timezone": "Europe/Amsterdam", "slots": WEEKDAYS_9}
    token = (await ok(mcp, "queue_slots_set", **args))["confirm_token"]
    results: list[dict[str, object]] = []

    async def one() -> None:
        result = await mcp.call_tool(
            "queue_slots_set", {**args, "confirm": token, "idempotency_key": "queue-k-1"}
        )
        results.append(structured(result))

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(one)
    puts = [r for r in state.requests if r == ("PUT", "/api/v1/queue/slots")]
    assert len(puts) == 1 and len(state.queues[SEED_PROFILE_ACME]["slots"]) == 5
