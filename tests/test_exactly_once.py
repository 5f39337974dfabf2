"""Exactly once when identical writes race, and no writes at all without a working journal."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp_types import CallToolResult

from conftest import API_BASE, TEST_KEY, call, make_settings, ok, structured, text
from late_mcp.safety import sqlite_journal as journal_module
from late_mcp.safety.once import fingerprint
from late_mcp.safety.sqlite_journal import Journal
from late_mcp.sandbox import SandboxState, create_sandbox_app
from late_mcp.sandbox.faults import FaultInjectingTransport, FaultPlan
from late_mcp.sandbox.state import SEED_ACCOUNT_ACME_TWITTER
from late_mcp.server.build import build_server

pytestmark = pytest.mark.anyio
CONTENT = "Flash sale, today only"
POST = {"content": CONTENT, "accounts": [SEED_ACCOUNT_ACME_TWITTER], "is_draft": True}
# The duplicate guard's key for POST, as posts_create computes it.
POST_PRINT = fingerprint(
    API_BASE, {"content": CONTENT, "platforms": [{"accountId": SEED_ACCOUNT_ACME_TWITTER}]}, "is_draft"
)


@asynccontextmanager
async def session(transport: httpx2.AsyncBaseTransport, **settings: Any) -> AsyncIterator[Client]:
    async with Client(build_server(make_settings(**settings), transport=transport), mode="legacy") as client:
        yield client


def posts_with(state: SandboxState, content: str = CONTENT) -> int:
    return sum(1 for p in state.posts.values() if p["content"] == content)


async def at_once(client: Client, tool: str, times: int, **arguments: Any) -> list[CallToolResult]:
    """``times`` identical calls sent together over one session."""
    results: list[CallToolResult] = []

    async def one() -> None:
        results.append(await call(client, tool, **arguments))

    async with anyio.create_task_group() as tg:
        for _ in range(times):
            tg.start_soon(one)
    return results


def error_kind(result: CallToolResult) -> str:
    assert result.is_error, text(result)
    return str(structured(result)["error"]["kind"])


async def new_journal_file(path: Path) -> None:
    journal = Journal(path)
    await journal.check()
    await journal.aclose()


def put_reservation(path: Path, *, started: timedelta, expires: timedelta, state: str = "pending") -> None:
    """A reservation for POST as a call that died left it: started and expiring relative to now."""
    now = datetime.now(UTC).replace(microsecond=0)
    with sqlite3.connect(path) as raw:
        raw.execute(
            "INSERT OR REPLACE INTO reservations (scope, key, owner, tool, digest, state, at, expires)"
            " VALUES ('post', ?, 'dead-call', 'posts_create', ?, ?, ?, ?)",
            (POST_PRINT, POST_PRINT, state, (now - started).isoformat(), (now + expires).isoformat()),
        )
    raw.close()


# -- racing identical calls ------------------------------------------------------------------------


async def test_ten_identical_posts_at_once_make_one(mcp: Client, state: SandboxState) -> None:
    results = await at_once(mcp, "posts_create", 10, **POST)
    assert posts_with(state) == 1
    assert all(not r.is_error for r in results), [text(r) for r in results if r.is_error]
    data = [structured(r) or {} for r in results]
    assert len({d["post"]["id"] for d in data}) == 1
    assert sorted(str(d.get("note")) for d in data) == ["None"] + ["duplicate"] * 9


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [("profiles_create", {"name": "Client Z"}), ("posts_create", {**POST, "allow_duplicate": True})],
)
async def test_ten_calls_with_one_idempotency_key_make_one(
    mcp: Client, state: SandboxState, tool: str, arguments: dict[str, Any]
) -> None:
    results = await at_once(mcp, tool, 10, **arguments, idempotency_key="race-key-0001")
    created = sum(1 for p in state.profiles.values() if p["name"] == "Client Z") + posts_with(state)
    assert created == 1
    assert all(not r.is_error for r in results), [text(r) for r in results if r.is_error]
    assert sum("Replayed" in text(r) for r in results) == 9
    assert len({str(structured(r)) for r in results}) == 1


async def test_two_servers_sharing_a_journal_file_make_one_post(tmp_path: Path) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    journal = tmp_path / "journal.sqlite3"
    results: list[CallToolResult] = []

    async def server(n: int) -> None:
        async with session(httpx2.ASGITransport(app=app), journal_path=journal) as client:
            results.extend(await at_once(client, "posts_create", 5, **POST))

    async with anyio.create_task_group() as tg:
        for n in range(2):
            tg.start_soon(server, n)
    assert posts_with(app.state.late) == 1
    assert len(results) == 10 and all(not r.is_error for r in results), [text(r) for r in results]
    assert len({structured(r)["post"]["id"] for r in results}) == 1


# -- calls that died or ended unknown --------------------------------------------------------------


async def test_a_live_reservation_answers_in_progress_and_sends_nothing(tmp_path: Path) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    path = tmp_path / "journal.sqlite3"
    await new_journal_file(path)
    put_reservation(path, started=timedelta(seconds=5), expires=timedelta(minutes=5))
    async with session(httpx2.ASGITransport(app=app), journal_path=path, call_deadline=0.3) as client:
        result = await call(client, "posts_create", **POST)
    assert error_kind(result) == "in_progress"
    assert "Another identical posts_create call is running" in text(result)
    assert "repeat the call" in text(result)
    assert posts_with(app.state.late) == 0


async def test_a_dead_calls_reservation_expires(tmp_path: Path) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    path = tmp_path / "journal.sqlite3"
    await new_journal_file(path)
    put_reservation(path, started=timedelta(seconds=70), expires=timedelta(seconds=-10))
    async with session(httpx2.ASGITransport(app=app), journal_path=path, call_deadline=5) as client:
        created = await ok(client, "posts_create", **POST)
        again = await ok(client, "posts_create", **POST)
    assert "note" not in created and again["note"] == "duplicate"
    assert posts_with(app.state.late) == 1


async def test_a_dead_call_whose_post_landed_is_found_not_repeated(tmp_path: Path) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    path = tmp_path / "journal.sqlite3"
    async with session(httpx2.ASGITransport(app=app), journal_path=path) as client:
        first = await ok(client, "posts_create", **POST)
    with sqlite3.connect(path) as raw:  # as if the process died after sending, before recording
        raw.execute("DELETE FROM posts")
    raw.close()
    put_reservation(path, started=timedelta(seconds=70), expires=timedelta(seconds=-10))
    async with session(httpx2.ASGITransport(app=app), journal_path=path) as client:
        again = await ok(client, "posts_create", **POST)
    assert again["post"]["id"] == first["post"]["id"] and again["note"] == "recovered"
    assert posts_with(app.state.late) == 1


class BlindTransport(httpx2.AsyncBaseTransport):
    """Loses every write's answer (the write lands) and fails every post lookup with a 503."""

    def __init__(self, app: Any) -> None:
        lost = FaultPlan(lost=1.0, methods=frozenset({"POST"}))
        self.inner = FaultInjectingTransport(httpx2.ASGITransport(app=app), lost)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET" and request.url.path.endswith("/v1/posts"):
            return httpx2.Response(503, json={"error": "lookup unavailable"})
        return await self.inner.handle_async_request(request)


async def test_an_unknown_outcome_is_checked_before_sending_again(tmp_path: Path) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    path = tmp_path / "journal.sqlite3"
    async with session(BlindTransport(app), journal_path=path, retry_attempts=2) as client:
        lost_post = await call(client, "posts_create", **POST)
        lost_profile = await call(client, "profiles_create", name="Lost Co", idempotency_key="lost-key-0001")
    for lost in (lost_post, lost_profile):
        assert structured(lost)["error"]["outcome_unknown"] is True, text(lost)
    assert posts_with(app.state.late) == 1
    async with session(httpx2.ASGITransport(app=app), journal_path=path) as client:
        found = await ok(client, "posts_create", **POST)
        refused = await call(client, "profiles_create", name="Lost Co", idempotency_key="lost-key-0001")
    assert found["note"] == "recovered" and posts_with(app.state.late) == 1
    assert error_kind(refused) == "idempotency"
    assert "outcome is unknown" in text(refused) and "use a new key" in text(refused)
    assert sum(1 for p in app.state.late.profiles.values() if p["name"] == "Lost Co") == 1


async def test_a_failed_create_releases_its_reservation(tmp_path: Path) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    path = tmp_path / "journal.sqlite3"
    refused = FaultInjectingTransport(
        httpx2.ASGITransport(app=app), FaultPlan(rate_limited=1.0, retry_after=0, methods=frozenset({"POST"}))
    )
    async with session(refused, journal_path=path, retry_attempts=2) as client:
        failed = await call(client, "posts_create", **POST, idempotency_key="retry-me-0001")
    assert error_kind(failed) == "rate_limited" and posts_with(app.state.late) == 0
    async with session(httpx2.ASGITransport(app=app), journal_path=path) as client:
        created = await ok(client, "posts_create", **POST, idempotency_key="retry-me-0001")
    assert "note" not in created and posts_with(app.state.late) == 1


# -- fail closed without a journal -----------------------------------------------------------------


class CountingTransport(httpx2.AsyncBaseTransport):
    """Counts every request that reaches the sandbox, by method."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.methods: list[str] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.methods.append(request.method)
        return await self.inner.handle_async_request(request)


async def test_an_unwritable_journal_refuses_writes_and_keeps_reads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("I am a file")
    path = blocker / "journal.sqlite3"
    app = create_sandbox_app(api_key=TEST_KEY)
    transport = CountingTransport(httpx2.ASGITransport(app=app))
    profiles_before = len(app.state.late.profiles)
    async with session(transport, journal_path=path) as client:
        refusals = [
            await call(client, "posts_create", **POST),
            await call(client, "profiles_create", name="Nope", idempotency_key="never-sent-01"),
        ]
        assert transport.methods == []
        listed = await ok(client, "posts_list")
        await ok(client, "accounts_list")
    for refused in refusals:
        assert error_kind(refused) == "journal_unavailable"
        message = text(refused)
        assert "safety net against duplicate posts" in message
        assert "writes are refused until it works" in message
        assert "LATE_JOURNAL_PATH" in message and str(path) in message and "nothing was sent" in message
    assert set(transport.methods) == {"GET"} and listed["posts"] is not None
    assert posts_with(app.state.late) == 0 and len(app.state.late.profiles) == profiles_before
    startup = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("late_mcp")]
    assert len(startup) == 1
    assert str(path) in startup[0].getMessage() and "LATE_JOURNAL_PATH" in startup[0].getMessage()


async def test_a_journal_that_breaks_mid_session_reports_the_write_then_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    async with session(httpx2.ASGITransport(app=app), journal_path=tmp_path / "journal.sqlite3") as client:
        await ok(client, "profiles_create", name="Before")
        monkeypatch.setitem(journal_module._STORE, "post", "INSERT INTO no_such_table VALUES (?, ?, ?)")
        sent = await call(client, "posts_create", **POST)
        assert not sent.is_error and posts_with(app.state.late) == 1
        assert "the journal could not record it" in text(sent) and "no_such_table" in text(sent)
        refused = await call(client, "posts_create", **{**POST, "content": "Another one"})
        assert error_kind(refused) == "journal_unavailable" and "LATE_JOURNAL_PATH" in text(refused)
        await ok(client, "posts_list")
    assert posts_with(app.state.late, "Another one") == 0
