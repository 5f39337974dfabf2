"""Access tokens for HTTP clients: who may call, on which profiles, and whether they may write.

A token is shown once, when it is created; the store keeps only its SHA-256 (tokens are 256 random
bits, so a fast hash is enough and a lookup by hash leaks nothing useful). `TokenStore` is the
interface a shared store (Redis, for replicas) implements; `SQLiteTokenStore` is the embedded one.
Every lookup reads the store, so a running server honours a new or revoked token at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from late_mcp.principal import Principal

TOKEN_PREFIX = "lmcp_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class TokenError(Exception):
    """A token command cannot be carried out; the message says why and what to do."""


@dataclass(frozen=True)
class TokenInfo:
    name: str
    profiles: tuple[str, ...]
    read_only: bool
    created_at: float
    revoked_at: float | None


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets (of any length)."""
    return hmac.compare_digest(token_hash(given).encode(), token_hash(expected).encode())


class TokenStore(Protocol):
    """What the server and `late-mcp token` need from a token store."""

    def create(self, name: str, profiles: tuple[str, ...], read_only: bool) -> str: ...
    def revoke(self, name: str) -> None: ...
    def list(self) -> list[TokenInfo]: ...
    def lookup(self, token: str) -> Principal | None: ...
    def has_tokens(self) -> bool: ...


class ClosableTokenStore(TokenStore, Protocol):
    def close(self) -> None: ...


class SQLiteTokenStore:
    """Tokens in a small SQLite file (next to the journal unless LATE_MCP_TOKEN_STORE says otherwise)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=5)
            db.execute(
                "CREATE TABLE IF NOT EXISTS tokens (name TEXT PRIMARY KEY, hash TEXT UNIQUE NOT NULL, "
                "profiles TEXT NOT NULL, read_only INTEGER NOT NULL, created_at REAL NOT NULL, "
                "revoked_at REAL)"
            )
            self._db = db
        return self._db

    def create(self, name: str, profiles: tuple[str, ...], read_only: bool) -> str:
        if not NAME_PATTERN.match(name):
            raise TokenError(f"A token name is 1-64 letters, digits or _.@- characters; got {name!r}.")
        token = new_token()
        with self._lock:
            try:
                self._conn().execute(
                    "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, NULL)",
                    (name, token_hash(token), json.dumps(sorted(set(profiles))), int(read_only), time.time()),
                )
            except sqlite3.IntegrityError:
                raise TokenError(
                    f"A token named {name!r} already exists; pick another name "
                    f"(or `late-mcp token revoke {name}` first and use a new name)."
                ) from None
        return token

    def revoke(self, name: str) -> None:
        with self._lock:
            done = self._conn().execute(
                "UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (time.time(), name)
            )
        if done.rowcount == 0:
            raise TokenError(f"No active token named {name!r}; `late-mcp token list` shows them.")

    def list(self) -> list[TokenInfo]:
        with self._lock:
            rows = (
                self._conn()
                .execute(
                    "SELECT name, profiles, read_only, created_at, revoked_at FROM tokens ORDER BY created_at"
                )
                .fetchall()
            )
        return [TokenInfo(r[0], tuple(json.loads(r[1])), bool(r[2]), r[3], r[4]) for r in rows]

    def lookup(self, token: str) -> Principal | None:
        if not self.path.exists():
            return None
        with self._lock:
            row = (
                self._conn()
                .execute(
                    "SELECT name, profiles, read_only FROM tokens WHERE hash = ? AND revoked_at IS NULL",
                    (token_hash(token),),
                )
                .fetchone()
            )
        if row is None:
            return None
        profiles = json.loads(row[1])
        limited = frozenset(profiles) if profiles else None
        return Principal(name=row[0], profiles=limited, read_only=bool(row[2]))

    def has_tokens(self) -> bool:
        """Any token ever created (revoked ones count: revoking the last token must not open the door)."""
        if not self.path.exists():
            return False
        with self._lock:
            return self._conn().execute("SELECT 1 FROM tokens LIMIT 1").fetchone() is not None

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
