"""Writes are never repeated blindly: idempotency keys, the duplicate guard, lost answers, the journal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client

from conftest import TEST_KEY, call, confirmed, fails, make_settings, ok, structured, text
from late_mcp.sandbox import SandboxState, create_sandbox_app
from late_mcp.sandbox.faults import FaultInjectingTransport, FaultPlan
from late_mcp.sandbox.state import SEED_ACCOUNT_ACME_TWITTER, SEED_PROFILE_ACME
from late_mcp.server.build import build_server

pytestmark = pytest.mark.anyio
POST = {"content": "Weekend special", "accounts": [SEED_ACCOUNT_ACME_TWITTER], "is_draft": True}


@asynccontextmanager
async def session(transport: httpx2.AsyncBaseTransport, **settings: Any) -> AsyncIterator[Client]:
    async with Client(build_server(make_settings(**settings), transport=transport), mode="legacy") as client:
        yield client


def posts_with(state: SandboxState, content: str) -> int:
    return sum(1 for p in state.posts.values() if p["content"] == content)


async def test_same_post_twice_returns_the_first_unless_allowed(mcp: Client, state: SandboxState) -> None:
    first = await ok(mcp, "posts_create", **POST)
    again = await ok(mcp, "posts_create", **POST)
    assert again["post"]["id"] == first["post"]["id"] and again["note"] == "duplicate"
    assert posts_with(state, "Weekend special") == 1
    forced = await ok(mcp, "posts_create", **POST, allow_duplicate=True)
    assert forced["post"]["id"] != first["post"]["id"] and posts_with(state, "Weekend special") == 2
    other_time = await confirmed(mcp, "posts_create", **{**POST, "is_draft": False, "publish_now": True})
    assert other_time["post"]["id"] not in {first["post"]["id"], forced["post"]["id"]}


async def test_a_deleted_earlier_post_does_not_block_posting_again(mcp: Client, state: SandboxState) -> None:
    first = await ok(mcp, "posts_create", **POST)
    await confirmed(mcp, "posts_delete", post_id=first["post"]["id"])
    again = await ok(mcp, "posts_create", **POST)
    assert again["post"]["id"] != first["post"]["id"] and "note" not in again


async def test_duplicate_guard_survives_a_restart(tmp_path: Path) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    journal = tmp_path / "journal.sqlite3"
    async with session(httpx2.ASGITransport(app=app), journal_path=journal) as client:
        first = await ok(client, "posts_create", **POST)
    async with session(
        httpx2.ASGITransport(app=app), journal_path=journal
    ) as client:  # "Claude restarted us"
        again = await ok(client, "posts_create", **POST)
        entries = await ok(client, "journal_recent", tool_name="posts_create")
    assert again["post"]["id"] == first["post"]["id"]
    assert posts_with(app.state.late, "Weekend special") == 1
    assert [e["outcome"] for e in entries["entries"]] == ["ok", "ok"]
    assert TEST_KEY.encode() not in journal.read_bytes() and b"Weekend special" not in journal.read_bytes()


async def test_idempotency_key_replays_and_refuses_other_arguments(mcp: Client, state: SandboxState) -> None:
    first = await ok(mcp, "profiles_create", name="Client A", idempotency_key="create-client-a-1")
    replay = await call(mcp, "profiles_create", name="Client A", idempotency_key="create-client-a-1")
    assert not replay.is_error and "Replayed" in text(replay)
    assert structured(replay) == first
    assert sum(1 for p in state.profiles.values() if p["name"] == "Client A") == 1
    message = await fails(mcp, "profiles_create", name="Client B", idempotency_key="create-client-a-1")
    assert "other arguments" in message
    assert "idempotency_key" in await fails(mcp, "profiles_create", name="C", idempotency_key="bad key!")


async def test_a_lost_create_answer_is_recovered_not_repeated() -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    faults = FaultInjectingTransport(
        httpx2.ASGITransport(app=app), FaultPlan(lost=1.0, methods=frozenset({"POST"}))
    )
    async with session(faults) as client:
        result = await ok(client, "posts_create", **POST)
        assert result["note"] == "recovered"
        entries = await ok(client, "journal_recent")
    assert posts_with(app.state.late, "Weekend special") == 1
    assert faults.counts["lost"] == 1
    assert entries["entries"][0]["outcome"] == "ok" and entries["entries"][0]["request_id"]


async def test_a_create_refused_before_landing_is_sent_again() -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    faults = FaultInjectingTransport(
        httpx2.ASGITransport(app=app), FaultPlan(reset=0.5, seed=3, methods=frozenset({"POST"}))
    )
    async with session(faults) as client:
        for n in range(10):
            await ok(client, "posts_create", **{**POST, "content": f"post {n}"})
    assert faults.counts["reset"] > 0
    assert all(posts_with(app.state.late, f"post {n}") == 1 for n in range(10))


async def test_unknown_outcome_that_cannot_be_checked_is_reported_not_repeated() -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    faults = FaultInjectingTransport(
        httpx2.ASGITransport(app=app), FaultPlan(lost=1.0, methods=frozenset({"POST"}))
    )
    async with session(faults, retry_attempts=2) as client:
        result = await call(client, "profiles_create", name="Lost")
    assert result.is_error and "may have been applied" in text(result)
    assert structured(result) == {
        "error": {
            "kind": "transport",
            "retryable": False,
            "outcome_unknown": True,
            "request_id": structured(result)["error"]["request_id"],
        }
    }
    assert sum(1 for p in app.state.late.profiles.values() if p["name"] == "Lost") == 1


async def test_journal_lists_writes_with_outcomes(mcp: Client) -> None:
    await ok(mcp, "invites_create", profile_id=SEED_PROFILE_ACME, platforms=["threads"])
    await fails(mcp, "posts_delete", post_id="64e0000000000000000000ff")
    listed = await ok(mcp, "journal_recent", hours=1)
    assert [(e["tool"], e["outcome"]) for e in listed["entries"]] == [
        ("posts_delete", "error:not_found"),
        ("invites_create", "ok"),
    ]
    assert SEED_PROFILE_ACME in listed["entries"][1]["targets"]
    assert listed["journal"].startswith("in memory")
    await ok(mcp, "posts_list")
    assert len((await ok(mcp, "journal_recent"))["entries"]) == 2  # reads are not journaled


async def test_refused_writes_are_not_journaled_and_ids_belong_to_the_write(mcp: Client) -> None:
    await fails(
        mcp, "posts_create", content="x", accounts=["pinterest"], profile_id=SEED_PROFILE_ACME, is_draft=True
    )
    assert (await ok(mcp, "journal_recent"))["entries"] == []
    await ok(mcp, "posts_create", **POST)
    (entry,) = (await ok(mcp, "journal_recent"))["entries"]
    assert entry["request_id"].startswith("lm_") and entry["outcome"] == "ok"
