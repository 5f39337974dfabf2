"""Local audit journal, idempotency store and duplicate guard, kept in one SQLite file.

Every public method is async and runs its sqlite work in a worker thread, serialised by one lock
around one shared connection. Failures surface as a single :class:`JournalError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

T = TypeVar("T")

SCHEMA_VERSION = 1
RETENTION = timedelta(days=30)  # idempotency records and post fingerprints
MAX_ENTRIES = 50_000  # journal entries kept; the oldest above this are pruned
PRUNE_EVERY = 1_000  # records between in-process prunes
SUMMARY_MAX = 200
BUSY_TIMEOUT_S = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
    tool TEXT NOT NULL, targets TEXT NOT NULL, digest TEXT NOT NULL, outcome TEXT NOT NULL,
    request_id TEXT, summary TEXT);
CREATE INDEX IF NOT EXISTS entries_at ON entries (at);
CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, tool TEXT NOT NULL,
    args_digest TEXT NOT NULL, result TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idempotency_at ON idempotency (at);
CREATE TABLE IF NOT EXISTS posts (fingerprint TEXT NOT NULL, post_id TEXT NOT NULL,
    created_at TEXT NOT NULL, PRIMARY KEY (fingerprint, post_id));
CREATE INDEX IF NOT EXISTS posts_created ON posts (created_at);
"""


class JournalError(Exception):
    """The journal could not be opened, read or written; the message names the file and the fix."""


def default_journal_path() -> Path:
    """Per-user data location of the journal (the caller handles $LATE_JOURNAL_PATH)."""
    home = Path.home()
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        base = Path(local) if local else home / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"
    return base / "late-mcp" / "journal.sqlite3"


def digest(value: object) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value`` (key order does not matter)."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class JournalEntry:
    """One write late-mcp performed (or tried to): never the content, only its digest."""

    id: int
    at: str
    tool: str
    targets: list[str]
    digest: str
    outcome: str
    request_id: str | None
    summary: str | None


@dataclass(frozen=True)
class IdempotencyRecord:
    """The first outcome stored under an idempotency key."""

    key: str
    tool: str
    args_digest: str
    result: dict[str, Any]
    at: str


def _iso(moment: datetime) -> str:
    """ISO 8601 in UTC, seconds precision; a naive datetime is taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _entry(row: sqlite3.Row) -> JournalEntry:
    return JournalEntry(**{**dict(row), "targets": list(json.loads(row["targets"]))})


class Journal:
    """The SQLite-backed journal. ``path=None`` keeps everything in memory (sandbox, tests)."""

    def __init__(self, path: Path | None = None, *, clock: Callable[[], datetime] | None = None) -> None:
        self.path = path
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._since_prune = 0

    # -- plumbing --------------------------------------------------------------------------------

    def _now(self) -> str:
        return _iso(self._clock())

    def _fail(self, what: str, detail: object) -> JournalError:
        where = str(self.path) if self.path is not None else "(in memory)"
        return JournalError(
            f"late-mcp journal {where}: {what} failed ({detail}). Set LATE_JOURNAL_PATH to a writable file."
        )

    def _open(self) -> sqlite3.Connection:
        if self.path is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
            )
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(conn)
            self._prune(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see the version
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise self._fail("opening", f"schema version {version} is from a newer late-mcp")
            if version < SCHEMA_VERSION:
                for statement in _SCHEMA.split(";"):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _prune(self, conn: sqlite3.Connection) -> None:
        cutoff = _iso(self._clock() - RETENTION)
        conn.execute("DELETE FROM idempotency WHERE at < ?", (cutoff,))
        conn.execute("DELETE FROM posts WHERE created_at < ?", (cutoff,))
        conn.execute("DELETE FROM entries WHERE id <= (SELECT MAX(id) FROM entries) - ?", (MAX_ENTRIES,))
        self._since_prune = 0

    def _locked(self, what: str, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            if self._closed:
                raise self._fail(what, "the journal is closed")
            try:
                if self._conn is None:
                    self._conn = self._open()
                return work(self._conn)
            except JournalError:
                raise
            except (sqlite3.Error, OSError) as exc:
                raise self._fail(what, exc) from exc

    async def _run(self, what: str, work: Callable[[sqlite3.Connection], T]) -> T:
        return await anyio.to_thread.run_sync(self._locked, what, work)

    async def _fetch(self, what: str, sql: str, params: Sequence[object]) -> list[sqlite3.Row]:
        return await self._run(what, lambda conn: conn.execute(sql, params).fetchall())

    async def _write(self, what: str, sql: str, params: Sequence[object]) -> None:
        await self._run(what, lambda conn: conn.execute(sql, params))

    # -- audit journal ---------------------------------------------------------------------------

    async def record(
        self,
        *,
        tool: str,
        targets: Sequence[str],
        digest: str,
        outcome: str,
        request_id: str | None = None,
        summary: str | None = None,
    ) -> JournalEntry:
        """Append one entry; ``summary`` is flattened to one line of at most 200 characters."""
        if summary is not None:
            summary = " ".join(summary.split())
            if len(summary) > SUMMARY_MAX:
                summary = summary[: SUMMARY_MAX - 1] + "…"
        at, ids = self._now(), [str(t) for t in targets]

        def work(conn: sqlite3.Connection) -> JournalEntry:
            cursor = conn.execute(
                "INSERT INTO entries (at, tool, targets, digest, outcome, request_id, summary)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (at, tool, json.dumps(ids), digest, outcome, request_id, summary),
            )
            self._since_prune += 1
            if self._since_prune >= PRUNE_EVERY:
                self._prune(conn)
            assert cursor.lastrowid is not None
            return JournalEntry(cursor.lastrowid, at, tool, ids, digest, outcome, request_id, summary)

        return await self._run("writing an entry", work)

    async def recent(
        self, *, since: datetime | None = None, tool: str | None = None, limit: int = 50
    ) -> list[JournalEntry]:
        """Entries newest first, optionally only those at or after ``since`` and for one ``tool``."""
        sql = "SELECT * FROM entries WHERE (? IS NULL OR at >= ?) AND (? IS NULL OR tool = ?)"
        after = None if since is None else _iso(since)
        params = (after, after, tool, tool, max(0, limit))
        rows = await self._fetch("reading entries", sql + " ORDER BY at DESC, id DESC LIMIT ?", params)
        return [_entry(row) for row in rows]

    # -- idempotency keys ------------------------------------------------------------------------

    async def idempotency_lookup(self, key: str) -> IdempotencyRecord | None:
        """The record stored under ``key`` in the last 30 days, if any."""
        sql = "SELECT * FROM idempotency WHERE key = ? AND at >= ?"
        rows = await self._fetch("reading an idempotency key", sql, (key, _iso(self._clock() - RETENTION)))
        if not rows:
            return None
        row = rows[0]
        return IdempotencyRecord(
            row["key"], row["tool"], row["args_digest"], json.loads(row["result"]), row["at"]
        )

    async def idempotency_store(
        self, key: str, *, tool: str, args_digest: str, result: dict[str, Any]
    ) -> None:
        """Store the outcome under ``key``; the first writer wins (an existing record is kept)."""
        sql = "INSERT OR IGNORE INTO idempotency (key, tool, args_digest, result, at) VALUES (?, ?, ?, ?, ?)"
        stored = json.dumps(result, ensure_ascii=False)
        await self._write("storing an idempotency key", sql, (key, tool, args_digest, stored, self._now()))

    # -- duplicate guard -------------------------------------------------------------------------

    async def remember_post(self, fingerprint: str, post_id: str) -> None:
        """Note that ``post_id`` was created with content ``fingerprint`` just now."""
        sql = "INSERT OR REPLACE INTO posts (fingerprint, post_id, created_at) VALUES (?, ?, ?)"
        await self._write("remembering a post", sql, (fingerprint, post_id, self._now()))

    async def find_post(self, fingerprint: str, *, within: timedelta) -> tuple[str, str] | None:
        """``(post_id, created_at)`` of the newest post with ``fingerprint`` created within ``within``."""
        sql = (
            "SELECT post_id, created_at FROM posts WHERE fingerprint = ? AND created_at >= ?"
            " ORDER BY created_at DESC, rowid DESC LIMIT 1"
        )
        rows = await self._fetch("looking up a post", sql, (fingerprint, _iso(self._clock() - within)))
        return (str(rows[0]["post_id"]), str(rows[0]["created_at"])) if rows else None

    async def aclose(self) -> None:
        """Close the connection; later calls raise :class:`JournalError`. Safe to call twice."""

        def work() -> None:
            with self._lock:
                self._closed = True
                if self._conn is not None:
                    conn, self._conn = self._conn, None
                    conn.close()

        await anyio.to_thread.run_sync(work)
