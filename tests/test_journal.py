"""The local journal: audit entries, idempotency keys and the duplicate guard (SQLite)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import anyio
import pytest

from late_mcp.config.paths import default_journal_path
from late_mcp.safety import records as records_module
from late_mcp.safety import sqlite_journal as journal_module
from late_mcp.safety.records import JournalError, digest
from late_mcp.safety.reservations import Claim, Scope
from late_mcp.safety.sqlite_journal import Journal

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 11, 22, 11, 19, 26, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    """A settable clock for the journal."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def mem(clock: Clock) -> AsyncIterator[Journal]:
    journal = Journal(clock=clock)
    yield journal
    await journal.aclose()


async def _record(journal: Journal, tool: str = "posts_create") -> None:
    await journal.record(tool=tool, targets=["p1"], digest="sha256:x", outcome="ok")


async def _store(journal: Journal, scope: Scope, key: str, result: str, digest: str = "d") -> None:
    await journal.commit(scope, key, owner=None, tool="t", digest=digest, result=result)


async def _reserve(
    journal: Journal,
    key: str,
    owner: str,
    *,
    scope: Scope = "post",
    within: timedelta = timedelta(hours=1),
    take_unknown: bool = False,
    forget: str | None = None,
) -> Claim:
    return await journal.reserve(
        scope,
        key,
        owner=owner,
        tool="t",
        digest="d",
        ttl=60,
        within=within,
        take_unknown=take_unknown,
        forget=forget,
    )


async def _done(journal: Journal, scope: Scope, key: str, within: timedelta) -> tuple[str | None, str] | None:
    """(result, at) stored under ``key`` within ``within``, seen by a fresh owner (left unreserved)."""
    claim = await _reserve(journal, key, "peek", scope=scope, within=within)
    if claim.state == "mine":
        await journal.release(scope, key, owner="peek")
    return (claim.result, claim.at) if claim.state == "done" else None


async def test_record_returns_entry_and_recent_is_newest_first(mem: Journal, clock: Clock) -> None:
    first = await mem.record(
        tool="profiles_create", targets=["prof1"], digest="sha256:a", outcome="ok", request_id="req-1"
    )
    assert first.at == "2026-11-22T11:19:26+00:00"
    assert (first.tool, first.targets, first.outcome, first.request_id) == (
        "profiles_create",
        ["prof1"],
        "ok",
        "req-1",
    )
    clock.advance(seconds=5)
    second = await mem.record(
        tool="posts_create", targets=["acc1", "post1"], digest="sha256:b", outcome="error:validation"
    )
    clock.advance(seconds=5)
    third = await mem.record(tool="posts_create", targets=[], digest="sha256:c", outcome="unknown")

    entries = await mem.recent()
    assert [e.id for e in entries] == [third.id, second.id, first.id]
    assert entries[1] == second
    assert entries[1].targets == ["acc1", "post1"]


async def test_recent_filters_since_tool_and_limit(mem: Journal, clock: Clock) -> None:
    for i in range(6):
        await _record(mem, tool="posts_create" if i % 2 else "invites_create")
        clock.advance(minutes=10)
    # entries at T0, +10, +20, +30, +40, +50 minutes
    since = await mem.recent(since=T0 + timedelta(minutes=30))
    assert [e.at for e in since] == [
        "2026-11-22T12:09:26+00:00",
        "2026-11-22T11:59:26+00:00",
        "2026-11-22T11:49:26+00:00",
    ]
    posts = await mem.recent(tool="posts_create")
    assert len(posts) == 3 and {e.tool for e in posts} == {"posts_create"}
    assert len(await mem.recent(tool="posts_create", since=T0 + timedelta(minutes=30))) == 2
    assert len(await mem.recent(limit=2)) == 2
    assert await mem.recent(limit=0) == []
    assert await mem.recent(tool="nope") == []
    # a since in another time zone means the same instant
    east = T0.astimezone(timezone(timedelta(hours=9))) + timedelta(minutes=45)
    assert len(await mem.recent(since=east)) == 1


async def test_summary_is_one_short_line(mem: Journal) -> None:
    entry = await mem.record(
        tool="t", targets=["x"], digest="d", outcome="ok", summary="line one\nline two " + "y" * 300
    )
    assert entry.summary is not None
    assert (
        len(entry.summary) == 200
        and "\n" not in entry.summary
        and entry.summary.startswith("line one line two")
    )
    assert (await mem.recent())[0].summary == entry.summary
    short = await mem.record(tool="t", targets=["x"], digest="d", outcome="ok", summary="created post p1")
    assert short.summary == "created post p1"


async def test_persists_across_restart(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "data" / "late-mcp" / "journal.sqlite3"
    journal = Journal(path, clock=clock)
    assert journal.path == path
    await journal.record(tool="posts_create", targets=["post1"], digest="sha256:a", outcome="ok")
    await _store(journal, "idempotency", "k1", '{"id": "post1"}')
    await _store(journal, "post", "fp1", "post1")
    await journal.aclose()

    if sys.platform != "win32":
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700

    reopened = Journal(path, clock=clock)
    try:
        entries = await reopened.recent()
        assert [(e.tool, e.targets) for e in entries] == [("posts_create", ["post1"])]
        assert await _done(reopened, "idempotency", "k1", timedelta(days=1)) == (
            '{"id": "post1"}',
            "2026-11-22T11:19:26+00:00",
        )
        assert await _done(reopened, "post", "fp1", timedelta(minutes=10)) == (
            "post1",
            "2026-11-22T11:19:26+00:00",
        )
        await reopened.record(tool="posts_delete", targets=["post1"], digest="sha256:b", outcome="ok")
        assert [e.id for e in await reopened.recent()] == [entries[0].id + 1, entries[0].id]
    finally:
        await reopened.aclose()

    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == journal_module.SCHEMA_VERSION
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


async def test_two_open_journals_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    a, b = Journal(path), Journal(path)
    try:
        await a.record(tool="a", targets=[], digest="d", outcome="ok")
        await b.record(tool="b", targets=[], digest="d", outcome="ok")
        assert {e.tool for e in await a.recent()} == {"a", "b"}
    finally:
        await a.aclose()
        await b.aclose()


async def test_idempotency_first_writer_wins(mem: Journal, clock: Clock) -> None:
    assert await _done(mem, "idempotency", "key-1", timedelta(days=1)) is None
    await _store(mem, "idempotency", "key-1", "p1", digest="sha256:a")
    clock.advance(minutes=1)
    await _store(mem, "idempotency", "key-1", "p2", digest="sha256:b")
    claim = await _reserve(mem, "key-1", "o", scope="idempotency")
    assert (claim.state, claim.digest, claim.result) == ("done", "sha256:a", "p1")
    assert claim.at == "2026-11-22T11:19:26+00:00"
    assert await _done(mem, "idempotency", "key-2", timedelta(days=1)) is None


async def test_idempotency_unicode_result_round_trips(mem: Journal) -> None:
    result = '{"content": "café ☕ 日本語"}'
    await _store(mem, "idempotency", "k", result)
    assert await _done(mem, "idempotency", "k", timedelta(days=1)) == (result, "2026-11-22T11:19:26+00:00")


async def test_post_window(mem: Journal, clock: Clock) -> None:
    assert await _done(mem, "post", "fp", timedelta(hours=1)) is None
    await _store(mem, "post", "fp", "post-old")
    clock.advance(minutes=20)
    await _store(mem, "post", "fp", "post-new")
    await _store(mem, "post", "other", "post-other")
    created = "2026-11-22T11:39:26+00:00"
    assert await _done(mem, "post", "fp", timedelta(minutes=5)) == ("post-new", created)
    clock.advance(minutes=9)
    assert await _done(mem, "post", "fp", timedelta(minutes=10)) == ("post-new", created)
    clock.advance(minutes=2)  # now 11 minutes after post-new
    assert await _done(mem, "post", "fp", timedelta(minutes=10)) is None
    assert await _done(mem, "post", "fp", timedelta(minutes=40)) == ("post-new", created)
    assert await _done(mem, "post", "missing", timedelta(days=1)) is None


async def test_old_keys_and_fingerprints_expire_after_30_days(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path, clock=clock)
    await _store(journal, "idempotency", "k", "{}")
    await _store(journal, "post", "fp", "p1")
    await _reserve(journal, "gone", "dead")
    await journal.release("post", "gone", owner="dead", unknown=True)
    await journal.record(tool="t", targets=[], digest="d", outcome="ok")
    clock.advance(days=31)
    assert await _done(journal, "idempotency", "k", timedelta(days=30)) is None  # expired before pruning
    await journal.aclose()

    reopened = Journal(path, clock=clock)  # opening prunes
    try:
        assert await _done(reopened, "post", "fp", timedelta(days=365)) is None
        assert len(await reopened.recent()) == 1  # journal entries are kept
    finally:
        await reopened.aclose()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM idempotency").fetchone()[0] == 0
        assert raw.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 0
        assert raw.execute("SELECT COUNT(*) FROM reservations").fetchone()[0] == 0
    raw.close()


async def test_entries_above_the_cap_are_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "MAX_ENTRIES", 5)
    monkeypatch.setattr(journal_module, "PRUNE_EVERY", 4)
    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        for i in range(12):
            await journal.record(tool=f"t{i}", targets=[], digest="d", outcome="ok")
        entries = await journal.recent(limit=100)
        assert len(entries) <= 8 and entries[0].tool == "t11"
    finally:
        await journal.aclose()
    reopened = Journal(tmp_path / "journal.sqlite3")
    try:
        assert [e.tool for e in await reopened.recent(limit=100)] == [f"t{i}" for i in range(11, 6, -1)]
    finally:
        await reopened.aclose()


def test_digest_is_canonical() -> None:
    a = digest({"b": 1, "a": {"y": [1, 2], "x": "é"}})
    b = digest({"a": {"x": "é", "y": [1, 2]}, "b": 1})
    assert a == b
    assert a.startswith("sha256:") and len(a) == len("sha256:") + 64
    assert digest({"a": 1}) != digest({"a": 2})
    assert digest([1, 2]) != digest([2, 1])
    # known value: sha256 of the compact, sorted, non-ASCII-escaped JSON
    assert digest({"b": "é", "a": 1}) == "sha256:" + hashlib.sha256('{"a":1,"b":"é"}'.encode()).hexdigest()


async def test_unwritable_path_raises_journal_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("I am a file")
    path = blocker / "journal.sqlite3"
    journal = Journal(path)  # constructing never touches the disk
    with pytest.raises(JournalError) as info:
        await journal.record(tool="t", targets=[], digest="d", outcome="ok")
    message = str(info.value)
    assert str(path) in message and "writing an entry" in message and "LATE_JOURNAL_PATH" in message
    with pytest.raises(JournalError):
        await journal.recent()
    await journal.aclose()


async def test_damaged_file_raises_journal_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    journal = Journal(path)
    with pytest.raises(JournalError, match="LATE_JOURNAL_PATH"):
        await _reserve(journal, "fp", "o")
    await journal.aclose()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    journal = Journal(path)
    with pytest.raises(JournalError, match="newer late-mcp"):
        await journal.recent()
    await journal.aclose()


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root ignores file permissions")
async def test_read_only_file_raises_journal_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    first = Journal(path)
    await first.record(tool="t", targets=[], digest="d", outcome="ok")
    await first.aclose()
    path.chmod(0o400)
    journal = Journal(path)
    with pytest.raises(JournalError, match="LATE_JOURNAL_PATH"):
        await journal.record(tool="t", targets=[], digest="d", outcome="ok")
    await journal.aclose()


async def test_closed_journal_raises(clock: Clock) -> None:
    journal = Journal(clock=clock)
    await journal.record(tool="t", targets=[], digest="d", outcome="ok")
    await journal.aclose()
    await journal.aclose()  # idempotent
    with pytest.raises(JournalError, match="closed"):
        await journal.recent()


async def test_in_memory_journal_works_and_is_private(clock: Clock) -> None:
    a, b = Journal(clock=clock), Journal(clock=clock)
    try:
        assert a.path is None
        await a.record(tool="t", targets=["x"], digest="d", outcome="duplicate")
        await _store(a, "post", "fp", "p")
        assert [e.outcome for e in await a.recent()] == ["duplicate"]
        assert await _done(a, "post", "fp", timedelta(seconds=1)) == ("p", "2026-11-22T11:19:26+00:00")
        assert await _done(b, "post", "fp", timedelta(seconds=1)) is None
        assert await b.recent() == []
    finally:
        await a.aclose()
        await b.aclose()


@pytest.mark.parametrize("on_disk", [False, True])
async def test_concurrent_records_all_land(tmp_path: Path, on_disk: bool) -> None:
    journal = Journal(tmp_path / "journal.sqlite3" if on_disk else None)
    ids: list[int] = []

    async def one(i: int) -> None:
        entry = await journal.record(
            tool="posts_create", targets=[f"post{i}"], digest=digest(i), outcome="ok"
        )
        ids.append(entry.id)

    try:
        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(one, i)
        entries = await journal.recent(limit=1000)
        assert len(entries) == 200 and len(set(ids)) == 200
        assert {e.targets[0] for e in entries} == {f"post{i}" for i in range(200)}
    finally:
        await journal.aclose()


def _env_path(monkeypatch: pytest.MonkeyPatch, platform: str, **env: str) -> Path:
    monkeypatch.setattr(sys, "platform", platform)
    for name in ("XDG_DATA_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return default_journal_path()


def test_default_journal_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    tail = Path("late-mcp", "journal.sqlite3")
    assert _env_path(monkeypatch, "linux") == tmp_path / ".local" / "share" / tail
    xdg = str(tmp_path / "xdg")
    assert _env_path(monkeypatch, "linux", XDG_DATA_HOME=xdg) == Path(xdg) / tail
    assert _env_path(monkeypatch, "linux", XDG_DATA_HOME="relative") == tmp_path / ".local" / "share" / tail
    assert _env_path(monkeypatch, "darwin") == tmp_path / "Library" / "Application Support" / tail
    assert _env_path(monkeypatch, "win32", LOCALAPPDATA=str(tmp_path / "L")) == tmp_path / "L" / tail
    assert _env_path(monkeypatch, "win32") == tmp_path / "AppData" / "Local" / tail


# -- reservations ----------------------------------------------------------------------------------

V1_SCHEMA = """
CREATE TABLE entries (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, tool TEXT NOT NULL,
    targets TEXT NOT NULL, digest TEXT NOT NULL, outcome TEXT NOT NULL, request_id TEXT, summary TEXT);
CREATE INDEX entries_at ON entries (at);
CREATE TABLE idempotency (key TEXT PRIMARY KEY, tool TEXT NOT NULL, args_digest TEXT NOT NULL,
    result TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX idempotency_at ON idempotency (at);
CREATE TABLE posts (fingerprint TEXT NOT NULL, post_id TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (fingerprint, post_id));
CREATE INDEX posts_created ON posts (created_at);
PRAGMA user_version = 1;
"""


async def test_a_version_1_journal_is_migrated_and_keeps_its_records(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "journal.sqlite3"
    at = "2026-11-22T11:00:00+00:00"
    with sqlite3.connect(path) as raw:  # a journal as late-mcp 1 left it on a user's disk
        raw.executescript(V1_SCHEMA)
        raw.execute(
            "INSERT INTO entries (at, tool, targets, digest, outcome) VALUES (?, 'posts_create', '[\"p1\"]',"
            " 'sha256:a', 'ok')",
            (at,),
        )
        raw.execute("INSERT INTO idempotency VALUES ('key-1', 'profiles_create', 'sha256:b', '{}', ?)", (at,))
        raw.execute("INSERT INTO posts VALUES ('fp1', 'p1', ?)", (at,))
    raw.close()

    journal = Journal(path, clock=clock)
    try:
        await journal.check()
        assert [(e.tool, e.targets) for e in await journal.recent(since=T0 - timedelta(hours=1))] == [
            ("posts_create", ["p1"])
        ]
        # Version 3 drops stored answers of older versions: their keys were not per caller.
        assert (await _reserve(journal, "key-1", "o", scope="idempotency")).state == "mine"
        assert await _done(journal, "post", "fp1", timedelta(hours=1)) == ("p1", at)
        assert (await _reserve(journal, "fp2", "o")).state == "mine"
        assert (await _reserve(journal, "fp2", "other")).state == "busy"
    finally:
        await journal.aclose()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == journal_module.SCHEMA_VERSION == 3
        assert raw.execute("SELECT COUNT(*) FROM reservations").fetchone()[0] == 2
    raw.close()


async def test_reserve_commit_and_release(mem: Journal, clock: Clock) -> None:
    mine = await _reserve(mem, "fp", "a")
    assert (mine.state, mine.suspect, mine.at) == ("mine", False, "2026-11-22T11:19:26+00:00")
    assert (await _reserve(mem, "fp", "a")).state == "mine"  # the holder may reserve again
    assert (await _reserve(mem, "fp", "b")).state == "busy"
    await mem.commit("post", "fp", owner="a", tool="t", digest="d", result="post-1")
    done = await _reserve(mem, "fp", "b")
    assert (done.state, done.result) == ("done", "post-1")
    assert (await _reserve(mem, "fp", "b", forget="post-1")).state == "mine"  # the post was deleted

    assert (await _reserve(mem, "gone", "a")).state == "mine"
    await mem.release("post", "gone", owner="a")  # failed: nothing was created
    assert (await _reserve(mem, "gone", "b")) == Claim(
        "mine", "t", "d", None, "2026-11-22T11:19:26+00:00", owner="b"
    )


async def test_unknown_outcomes_and_expired_reservations_are_suspect(mem: Journal, clock: Clock) -> None:
    await _reserve(mem, "lost", "a")
    await mem.release("post", "lost", owner="a", unknown=True)
    clock.advance(minutes=5)
    unknown = await _reserve(mem, "lost", "b")
    assert (unknown.state, unknown.at) == ("unknown", "2026-11-22T11:19:26+00:00")
    taken = await _reserve(mem, "lost", "b", take_unknown=True)
    assert (taken.state, taken.suspect, taken.at) == ("mine", True, "2026-11-22T11:19:26+00:00")

    await _reserve(mem, "dead", "a")  # ttl 60 s, and the call never comes back
    clock.advance(seconds=59)
    assert (await _reserve(mem, "dead", "b")).state == "busy"
    clock.advance(seconds=2)
    expired = await _reserve(mem, "dead", "b")
    assert (expired.state, expired.suspect) == ("mine", True)


async def test_one_reservation_wins_across_two_journals_on_one_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    a, b = Journal(path), Journal(path)
    states: list[str] = []

    async def one(journal: Journal, n: int) -> None:
        states.append((await _reserve(journal, "fp", f"owner-{n}")).state)

    try:
        async with anyio.create_task_group() as tg:
            for n in range(20):
                tg.start_soon(one, a if n % 2 else b, n)
    finally:
        await a.aclose()
        await b.aclose()
    assert sorted(states) == ["busy"] * 19 + ["mine"]


async def test_a_failed_journal_stays_failed(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("I am a file")
    journal = Journal(blocker / "journal.sqlite3")
    assert journal.failure is None
    with pytest.raises(JournalError, match="a test write") as info:
        await journal.check()
    assert journal.failure is info.value
    with pytest.raises(JournalError) as again:
        await _reserve(journal, "fp", "o")
    assert str(again.value) == str(info.value) and again.value.__cause__ is info.value
    await journal.aclose()


async def test_a_failed_journal_recovers_once_it_can_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(records_module, "RECOVER_FIRST", 0.05)
    blocker = tmp_path / "data"
    blocker.write_text("a file where the journal's folder should be")
    journal = Journal(blocker / "journal.sqlite3")
    with pytest.raises(JournalError):
        await journal.check()
    assert journal.failure is not None
    assert await journal.recover() is not None  # still no folder: still broken
    blocker.unlink()  # the folder can be made now
    for _ in range(100):
        if await journal.recover() is None:
            break
        await anyio.sleep(0.02)
    assert journal.failure is None
    assert (await _reserve(journal, "fp", "a")).state == "mine"  # reserving works again
    await _record(journal)
    assert len(await journal.recent()) == 1
    await journal.aclose()
