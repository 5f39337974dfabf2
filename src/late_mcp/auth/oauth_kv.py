"""Where the OAuth records live: one small key-value contract, in SQLite or in Redis.

Records are JSON objects filed under a kind ("user", "client", "grant", "code", ...) and a key.
Keys of secrets are their SHA-256 (late_mcp.auth.oauth_store hashes them before they get here).
`swap` is the one atomic step the OAuth rules need (use a code once, rotate a refresh token once):
it replaces a record only if it is still exactly what the caller read, so of two replicas racing
on one record exactly one wins.

The SQLite file is made 0600 (its folder 0700 when made here); a store that cannot be asked raises
`TokenStoreUnavailable`, as the token store does, so the HTTP guard answers 503.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

from late_mcp.auth.tokens import TokenStoreUnavailable, redis_reached

Record = dict[str, Any]


def dumped(record: Record) -> str:
    """The one spelling of a record (sorted keys), so `swap` compares like with like."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


class KeyValue(Protocol):
    """What the OAuth store needs from a backend (all calls block: run them in a worker thread)."""

    def get(self, kind: str, key: str) -> Record | None: ...
    def add(self, kind: str, key: str, record: Record) -> bool: ...
    def put(self, kind: str, key: str, record: Record) -> None: ...
    def swap(self, kind: str, key: str, old: Record, new: Record) -> bool: ...
    def delete(self, kind: str, key: str) -> bool: ...
    def items(self, kind: str) -> list[tuple[str, Record]]: ...
    def any(self, *kinds: str) -> bool: ...
    def close(self) -> None: ...


class SQLiteKeyValue:
    """Records in one table of a 0600 SQLite file; nothing is created until the first write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self, create: bool) -> sqlite3.Connection | None:
        if self._db is not None and self.path.exists():
            return self._db
        self._drop()
        try:
            if not self.path.exists():
                if not create:
                    return None
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            if os.name != "nt":
                os.chmod(self.path, 0o600)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=5)
            db.execute(
                "CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, key TEXT NOT NULL, "
                "value TEXT NOT NULL, PRIMARY KEY (kind, key))"
            )
        except (sqlite3.Error, OSError) as exc:
            raise self._unavailable(exc) from exc
        self._db = db
        return db

    def _drop(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db = None

    def _unavailable(self, exc: BaseException) -> TokenStoreUnavailable:
        return TokenStoreUnavailable(
            f"The OAuth store {self.path} cannot be read ({type(exc).__name__}: {exc}); fix or remove "
            "the file."
        )

    def _run(self, sql: str, args: tuple[object, ...], *, write: bool) -> sqlite3.Cursor | None:
        with self._lock:
            db = self._conn(create=write)
            if db is None:
                return None
            try:
                return db.execute(sql, args)
            except sqlite3.Error as exc:
                self._drop()
                raise self._unavailable(exc) from exc

    def get(self, kind: str, key: str) -> Record | None:
        cursor = self._run("SELECT value FROM records WHERE kind = ? AND key = ?", (kind, key), write=False)
        row = cursor.fetchone() if cursor is not None else None
        return json.loads(row[0]) if row else None

    def add(self, kind: str, key: str, record: Record) -> bool:
        sql = "INSERT OR IGNORE INTO records VALUES (?, ?, ?)"
        cursor = self._run(sql, (kind, key, dumped(record)), write=True)
        return cursor is not None and cursor.rowcount == 1

    def put(self, kind: str, key: str, record: Record) -> None:
        self._run("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", (kind, key, dumped(record)), write=True)

    def swap(self, kind: str, key: str, old: Record, new: Record) -> bool:
        sql = "UPDATE records SET value = ? WHERE kind = ? AND key = ? AND value = ?"
        cursor = self._run(sql, (dumped(new), kind, key, dumped(old)), write=True)
        return cursor is not None and cursor.rowcount == 1

    def delete(self, kind: str, key: str) -> bool:
        cursor = self._run("DELETE FROM records WHERE kind = ? AND key = ?", (kind, key), write=False)
        return cursor is not None and cursor.rowcount == 1

    def items(self, kind: str) -> list[tuple[str, Record]]:
        cursor = self._run("SELECT key, value FROM records WHERE kind = ?", (kind,), write=False)
        return [(key, json.loads(value)) for key, value in (cursor.fetchall() if cursor else [])]

    def any(self, *kinds: str) -> bool:
        marks = ",".join("?" * len(kinds))
        cursor = self._run(f"SELECT 1 FROM records WHERE kind IN ({marks}) LIMIT 1", kinds, write=False)
        return bool(cursor is not None and cursor.fetchone())

    def close(self) -> None:
        with self._lock:
            self._drop()


_reached = redis_reached("The OAuth store")  # Redis's errors as TokenStoreUnavailable


# Replace a hash field only if it still holds what the caller read: one replica wins a race.
SWAP_SCRIPT = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
"""


class RedisKeyValue:
    """Records in one Redis hash per kind, shared by every replica."""

    def __init__(self, url: str) -> None:
        from redis import Redis

        self._redis = Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)
        self._swap = self._redis.register_script(SWAP_SCRIPT)

    @staticmethod
    def _hash(kind: str) -> str:
        return f"late-mcp:oauth:{kind}"

    @_reached
    def get(self, kind: str, key: str) -> Record | None:
        raw = self._redis.hget(self._hash(kind), key)
        return json.loads(raw) if isinstance(raw, str) else None

    @_reached
    def add(self, kind: str, key: str, record: Record) -> bool:
        return bool(self._redis.hsetnx(self._hash(kind), key, dumped(record)))

    @_reached
    def put(self, kind: str, key: str, record: Record) -> None:
        self._redis.hset(self._hash(kind), key, dumped(record))

    @_reached
    def swap(self, kind: str, key: str, old: Record, new: Record) -> bool:
        return bool(self._swap(keys=[self._hash(kind)], args=[key, dumped(old), dumped(new)]))

    @_reached
    def delete(self, kind: str, key: str) -> bool:
        return bool(self._redis.hdel(self._hash(kind), key))

    @_reached
    def items(self, kind: str) -> list[tuple[str, Record]]:
        stored: dict[str, str] = self._redis.hgetall(self._hash(kind))  # type: ignore[assignment]
        return [(key, json.loads(raw)) for key, raw in stored.items()]

    @_reached
    def any(self, *kinds: str) -> bool:
        return any(self._redis.hlen(self._hash(kind)) for kind in kinds)

    def close(self) -> None:
        self._redis.close()
