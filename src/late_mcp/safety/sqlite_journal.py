"""Local audit journal, idempotency store and duplicate guard, kept in one SQLite file.

Every public method is async and runs its sqlite work in a worker thread, serialised by one lock
around one shared connection. Failures surface as a single :class:`JournalError`; the first one
is kept (:attr:`Journal.failure`) and every later call raises it again, so a journal that broke
stays visibly broken, and writes are refused, until :meth:`Journal.recover` finds that it takes
a test write again (tried on the next write after a short backoff: a disk that was full and has
room again needs no restart).

The journal is also the SQLite implementation of :class:`late_mcp.safety.reservations.Reservations`:
idempotency keys and post fingerprints are reserved in one ``BEGIN IMMEDIATE`` transaction
before anything is sent, so several processes sharing the file cannot both go ahead.

Only its owner may read it: the file (and so SQLite's -wal and -shm beside it) is 0600, folders
made for it 0700. Entries name their caller and hold no links or tokens; a stored answer holds
no secrets or text (late_mcp.safety.replay) and is deleted with secure_delete once its retention
ends (by the next write, or at start).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

from late_mcp.core.privatefs import create_private_file, make_private_dirs, tighten
from late_mcp.safety.records import (
    MAX_ENTRIES,
    RETENTION,
    Backoff,
    JournalEntry,
    JournalError,
    flat_summary,
    iso,
)
from late_mcp.safety.reservations import Claim, Scope

log = logging.getLogger("late_mcp.journal")

T = TypeVar("T")

SCHEMA_VERSION = 3
PRUNE_EVERY = 1_000  # records between in-process prunes
BUSY_TIMEOUT_S = 10.0

# Schema steps by the version they bring a file to; a file at version N runs the steps above N.
_SCHEMA_V1 = """
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
# Calls in flight (state 'pending', until `expires`) and calls whose outcome is unknown ('unknown').
_SCHEMA_V2 = """
CREATE TABLE IF NOT EXISTS reservations (scope TEXT NOT NULL, key TEXT NOT NULL, owner TEXT NOT NULL,
    tool TEXT NOT NULL, digest TEXT NOT NULL, state TEXT NOT NULL, at TEXT NOT NULL, expires TEXT,
    PRIMARY KEY (scope, key));
CREATE INDEX IF NOT EXISTS reservations_at ON reservations (at);
"""
# Each entry names its caller (late_mcp.auth.principal.caller_id; NULL: written before callers were
# recorded, shown to full-access callers only). Stored results of earlier versions are dropped:
# their keys were not per caller, so no caller can reach them, and they held whole answers (links,
# text). Summaries of entries that could hold a live link (an invite, an OAuth link, an upload
# page) are dropped too.
_SCHEMA_V3 = """
ALTER TABLE entries ADD COLUMN caller TEXT;
CREATE INDEX IF NOT EXISTS entries_caller ON entries (caller, at);
DELETE FROM idempotency;
UPDATE entries SET summary = NULL WHERE tool IN ('invites_create', 'accounts_connect_link',
    'media_upload_link', 'media_browser_upload_start')
"""
_MIGRATIONS = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3}

# Where each scope keeps its finished results, as (tool, digest, result, at) rows, newest first.
_DONE = {
    "idempotency": (
        "SELECT tool, args_digest AS digest, result, at FROM idempotency WHERE key = ? AND at >= ?"
    ),
    "post": (
        "SELECT 'posts_create' AS tool, fingerprint AS digest, post_id AS result, created_at AS at"
        " FROM posts WHERE fingerprint = ? AND created_at >= ? ORDER BY created_at DESC, rowid DESC LIMIT 1"
    ),
}
_STORE = {
    "idempotency": (
        "INSERT OR IGNORE INTO idempotency (key, tool, args_digest, result, at) VALUES (?, ?, ?, ?, ?)"
    ),
    "post": "INSERT OR REPLACE INTO posts (fingerprint, post_id, created_at) VALUES (?, ?, ?)",
}
_FORGET = {
    "idempotency": "DELETE FROM idempotency WHERE key = ? AND result = ?",
    "post": "DELETE FROM posts WHERE fingerprint = ? AND post_id = ?",
}


def _contended(exc: sqlite3.OperationalError) -> bool:
    """SQLite's 'database is locked/busy': another connection holds the file for now."""
    text = str(exc).lower()
    return "locked" in text or "busy" in text


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
        self._failure: JournalError | None = None
        self._backoff = Backoff()
        self._since_prune = 0

    @property
    def where(self) -> str:
        return str(self.path) if self.path is not None else "in memory (sandbox)"

    @property
    def failure(self) -> JournalError | None:
        """The error that broke the journal, if one did; every later call raises it again."""
        return self._failure

    async def check(self) -> None:
        """Open the journal and prove it takes a write (one row written and committed, then deleted)."""
        await self._run("a test write", self._probe)

    def _probe(self, conn: sqlite3.Connection) -> None:
        insert = (
            "INSERT OR REPLACE INTO reservations (scope, key, owner, tool, digest, state, at)"
            " VALUES ('probe', 'probe', '', '', '', 'probe', '')"
        )
        self._transaction(lambda c: c.execute(insert))(conn)
        self._transaction(lambda c: c.execute("DELETE FROM reservations WHERE scope = 'probe'"))(conn)

    async def recover(self) -> JournalError | None:
        """The error that still stands, if any. A broken journal reopens its file and tries the
        test write again, at most once per backoff interval; when it passes, writes resume."""
        if self._failure is None or self._closed or not self._backoff.due():
            return self._failure

        def work() -> JournalError | None:
            with self._lock:
                if self._failure is None or self._closed:
                    return self._failure
                self._drop_connection()
                try:
                    self._conn = self._open()
                    self._probe(self._conn)
                except JournalError as exc:
                    self._failure = exc
                except (sqlite3.Error, OSError) as exc:
                    self._failure = self._fail("a test write", exc)
                else:
                    self._failure = None
                    self._backoff.reset()
                    return None
                self._drop_connection()
                self._backoff.failed()
                return self._failure

        failure = await anyio.to_thread.run_sync(work)
        if failure is None:
            log.warning("late-mcp journal %s works again: writes are accepted again", self.where)
        else:
            log.info("%s Writes stay refused; trying again later.", failure)
        return failure

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):  # a broken connection may not close cleanly
                conn.close()

    # -- plumbing --------------------------------------------------------------------------------

    def _now(self) -> str:
        return iso(self._clock())

    def _fail(self, what: str, detail: object) -> JournalError:
        where = str(self.path) if self.path is not None else "(in memory)"
        return JournalError(
            f"late-mcp journal {where}: {what} failed ({detail}). Set LATE_JOURNAL_PATH to a writable file."
        )

    def _open(self) -> sqlite3.Connection:
        if self.path is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        else:
            make_private_dirs(self.path.parent)
            create_private_file(self.path)
            for path in (self.path, *(self.path.with_name(self.path.name + s) for s in ("-wal", "-shm"))):
                tighten(path)  # SQLite gives -wal and -shm the mode of the journal file
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
            )
        try:
            conn.row_factory = sqlite3.Row
            self._wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA secure_delete = ON")  # deleted rows (pruned stored answers) are zeroed
            self._migrate(conn)
            self._transaction(self._prune)(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _wal(conn: sqlite3.Connection) -> None:
        """Switch to WAL. Two processes opening a new file at once can see 'locked' here without
        SQLite's busy wait, so the switch is tried again for up to the busy timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if not _contended(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)  # in the journal's worker thread, never on the event loop

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see the version
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise self._fail("opening", f"schema version {version} is from a newer late-mcp")
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[step].split(";"):
                    conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _prune(self, conn: sqlite3.Connection) -> None:
        cutoff = iso(self._clock() - RETENTION)
        conn.execute("DELETE FROM idempotency WHERE at < ?", (cutoff,))
        conn.execute("DELETE FROM posts WHERE created_at < ?", (cutoff,))
        conn.execute("DELETE FROM reservations WHERE at < ?", (cutoff,))
        conn.execute("DELETE FROM entries WHERE id <= (SELECT MAX(id) FROM entries) - ?", (MAX_ENTRIES,))
        self._since_prune = 0

    def _locked(self, what: str, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            if self._closed:
                raise self._fail(what, "the journal is closed")
            if self._failure is not None:
                raise self._failure.again() from self._failure
            try:
                if self._conn is None:
                    self._conn = self._open()
                return work(self._conn)
            except JournalError as exc:
                self._failure = exc
                self._backoff.failed()
                raise
            except (sqlite3.Error, OSError) as exc:
                if isinstance(exc, sqlite3.OperationalError) and _contended(exc) and self._conn is not None:
                    # Another process held the file past the busy timeout: this call is refused
                    # (nothing is sent), but the journal itself is sound and the next call tries again.
                    raise self._fail(what, exc) from exc
                failure = self._fail(what, exc)
                self._failure = failure
                self._backoff.failed()
                raise failure from exc

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], T]:
        """``work`` inside one ``BEGIN IMMEDIATE`` transaction: all of it lands, or none of it."""

        def run(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                value = work(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return value

        return run

    async def _run(self, what: str, work: Callable[[sqlite3.Connection], T]) -> T:
        return await anyio.to_thread.run_sync(self._locked, what, work)

    async def _fetch(self, what: str, sql: str, params: Sequence[object]) -> list[sqlite3.Row]:
        return await self._run(what, lambda conn: conn.execute(sql, params).fetchall())

    async def _write(self, what: str, sql: str, params: Sequence[object]) -> None:
        await self._run(what, self._transaction(lambda conn: conn.execute(sql, params)))

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
        caller: str | None = None,
    ) -> JournalEntry:
        """Append one entry; ``summary`` is flattened to one line of at most 200 characters.
        Stored answers whose retention ended are deleted on the way."""
        summary = flat_summary(summary)
        at, ids = self._now(), [str(t) for t in targets]

        def work(conn: sqlite3.Connection) -> JournalEntry:
            cursor = conn.execute(
                "INSERT INTO entries (at, tool, targets, digest, outcome, request_id, summary, caller)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (at, tool, json.dumps(ids), digest, outcome, request_id, summary, caller),
            )
            conn.execute("DELETE FROM idempotency WHERE at < ?", (iso(self._clock() - RETENTION),))
            self._since_prune += 1
            if self._since_prune >= PRUNE_EVERY:
                self._prune(conn)
            assert cursor.lastrowid is not None
            return JournalEntry(cursor.lastrowid, at, tool, ids, digest, outcome, request_id, summary, caller)

        return await self._run("writing an entry", self._transaction(work))

    async def recent(
        self,
        *,
        since: datetime | None = None,
        tool: str | None = None,
        limit: int = 50,
        caller: str | None = None,
    ) -> list[JournalEntry]:
        """Entries newest first, optionally only those at or after ``since``, for one ``tool``, and
        made by one ``caller``."""
        sql = (
            "SELECT * FROM entries WHERE (? IS NULL OR at >= ?) AND (? IS NULL OR tool = ?)"
            " AND (? IS NULL OR caller = ?)"
        )
        after = None if since is None else iso(since)
        params = (after, after, tool, tool, caller, caller, max(0, limit))
        rows = await self._fetch("reading entries", sql + " ORDER BY at DESC, id DESC LIMIT ?", params)
        return [_entry(row) for row in rows]

    # -- reservations (late_mcp.safety.reservations.Reservations) ----------------------------------------

    async def reserve(
        self,
        scope: Scope,
        key: str,
        *,
        owner: str,
        tool: str,
        digest: str,
        ttl: float,
        within: timedelta,
        take_unknown: bool = False,
        forget: str | None = None,
    ) -> Claim:
        """Claim ``key`` for ``owner`` unless a live call holds it or a result within ``within`` exists."""
        now = self._clock()
        at, cutoff, expires = iso(now), iso(now - within), iso(now + timedelta(seconds=ttl))

        def work(conn: sqlite3.Connection) -> Claim:
            if forget is not None:
                conn.execute(_FORGET[scope], (key, forget))
            row = conn.execute(
                "SELECT * FROM reservations WHERE scope = ? AND key = ?", (scope, key)
            ).fetchone()
            if row is not None and row["at"] < cutoff:
                row = None  # too old to say anything about this call
            live = row is not None and row["state"] == "pending" and row["expires"] > at
            if live and row["owner"] != owner:
                return Claim("busy", row["tool"], row["digest"], None, row["at"])
            done = conn.execute(_DONE[scope], (key, cutoff)).fetchone()
            if done is not None and (row is None or done["at"] >= row["at"]):
                return Claim("done", done["tool"], done["digest"], done["result"], done["at"])
            if row is not None and row["state"] == "unknown" and not take_unknown:
                return Claim("unknown", row["tool"], row["digest"], None, row["at"])
            suspect = row is not None and row["owner"] != owner
            same = row is not None and (row["tool"], row["digest"]) == (tool, digest)
            holder, began = (row["owner"], row["at"]) if same else (owner, at)  # the same write goes on
            conn.execute(
                "INSERT OR REPLACE INTO reservations (scope, key, owner, tool, digest, state, at, expires)"
                " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                (scope, key, holder, tool, digest, began, expires),
            )
            if suspect:
                return Claim("mine", row["tool"], row["digest"], None, row["at"], suspect=True, owner=holder)
            return Claim("mine", tool, digest, None, began, owner=holder)

        return await self._run("reserving", self._transaction(work))

    async def commit(
        self, scope: Scope, key: str, *, owner: str | None, tool: str, digest: str, result: str
    ) -> None:
        """Store ``result`` under ``key`` and end ``owner``'s reservation, in one transaction."""
        at = self._now()

        def work(conn: sqlite3.Connection) -> None:
            if scope == "idempotency":
                conn.execute(_STORE[scope], (key, tool, digest, result, at))
            else:
                conn.execute(_STORE[scope], (key, result, at))
            if owner is not None:
                conn.execute(
                    "DELETE FROM reservations WHERE scope = ? AND key = ? AND owner = ?", (scope, key, owner)
                )

        await self._run("recording a result", self._transaction(work))

    async def release(self, scope: Scope, key: str, *, owner: str, unknown: bool = False) -> None:
        """End ``owner``'s reservation: forget it, or keep it as 'outcome unknown'."""
        if unknown:
            sql = (
                "UPDATE reservations SET state = 'unknown', expires = NULL"
                " WHERE scope = ? AND key = ? AND owner = ?"
            )
        else:
            sql = "DELETE FROM reservations WHERE scope = ? AND key = ? AND owner = ?"
        await self._write("releasing a reservation", sql, (scope, key, owner))

    async def aclose(self) -> None:
        """Close the connection; later calls raise :class:`JournalError`. Safe to call twice."""

        def work() -> None:
            with self._lock:
                self._closed = True
                if self._conn is not None:
                    conn, self._conn = self._conn, None
                    conn.close()

        await anyio.to_thread.run_sync(work)
