"""Access tokens for HTTP clients: who may call, on which profiles, and whether they may write.

A token is shown once, when it is created; the store keeps only its SHA-256 (tokens are 256 random
bits, so a fast hash is enough and a lookup by hash leaks nothing useful). `TokenStore` is the
interface a shared store (Redis, for replicas) implements; `SQLiteTokenStore` is the embedded one.
Every lookup reads the store, so a running server honours a new or revoked token at once.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

from late_mcp.auth.principal import Principal

P = ParamSpec("P")
R = TypeVar("R")

TOKEN_PREFIX = "lmcp_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
logger = logging.getLogger("late_mcp.tokens")


class TokenError(Exception):
    """A token command cannot be carried out; the message says why and what to do."""


class TokenStoreUnavailable(TokenError):
    """The token store cannot be asked (Redis unreachable, the SQLite file unreadable): the server
    refuses requests (503) rather than guess. The message names the store, never a token."""


def redis_reached(store: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A decorator turning Redis's own errors into TokenStoreUnavailable, naming `store` ("The
    token store") and not its URL."""

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            from redis.exceptions import RedisError

            try:
                return method(*args, **kwargs)
            except RedisError as exc:
                raise TokenStoreUnavailable(
                    f"{store} in Redis (LATE_MCP_REDIS_URL) cannot be asked ({type(exc).__name__}: "
                    f"{exc}); check that Redis runs and is reachable."
                ) from exc

        return wrapper

    return decorate


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
    """Tokens in a small SQLite file (next to the journal unless LATE_MCP_TOKEN_STORE says otherwise).

    The store is the file at `path`, not a file once opened: every use checks that path, so a
    deleted file means no tokens (never a stale copy kept alive by an open connection) and a
    replaced file is reopened. The file is made 0600 (its folder 0700 when made here), and a
    file readable by others is narrowed to 0600 with a warning. A file that cannot be read raises
    `TokenStoreUnavailable`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None  # (device, inode) of the open file

    def _conn(self, *, create: bool = False) -> sqlite3.Connection | None:
        """The connection to the file now at `path`, or None when there is none (and `create` is
        False). Called with the lock held."""
        try:
            if create:
                self._make_file()
            try:
                found = os.stat(self.path)
            except FileNotFoundError:
                self._drop()
                return None
            identity = (found.st_dev, found.st_ino)
            if self._db is not None and identity == self._identity:
                return self._db
            self._drop()
            _narrow(self.path, found.st_mode)
            uri = Path(os.path.abspath(self.path)).as_uri() + "?mode=rw"
            db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=5)
            db.execute(
                "CREATE TABLE IF NOT EXISTS tokens (name TEXT PRIMARY KEY, hash TEXT UNIQUE NOT NULL, "
                "profiles TEXT NOT NULL, read_only INTEGER NOT NULL, created_at REAL NOT NULL, "
                "revoked_at REAL)"
            )
            self._db, self._identity = db, identity
            return db
        except (sqlite3.Error, OSError) as exc:
            self._drop()
            raise self._unavailable(exc) from exc

    def _make_file(self) -> None:
        if not self.path.parent.exists():
            os.makedirs(self.path.parent, mode=0o700, exist_ok=True)
        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))

    def _drop(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db, self._identity = None, None

    def _unavailable(self, exc: BaseException) -> TokenStoreUnavailable:
        return TokenStoreUnavailable(
            f"The token store {self.path} cannot be read ({type(exc).__name__}: {exc}); fix or remove "
            "the file, or point LATE_MCP_TOKEN_STORE at another."
        )

    def _query(self, sql: str, args: tuple[object, ...] = (), *, create: bool = False) -> list[Any] | None:
        """The rows `sql` gives, or None when there is no store file."""
        with self._lock:
            db = self._conn(create=create)
            if db is None:
                return None
            try:
                cursor = db.execute(sql, args)
                return [cursor.rowcount] if cursor.description is None else cursor.fetchall()
            except sqlite3.IntegrityError:
                raise
            except sqlite3.Error as exc:
                self._drop()
                raise self._unavailable(exc) from exc

    def create(self, name: str, profiles: tuple[str, ...], read_only: bool) -> str:
        if not NAME_PATTERN.match(name):
            raise TokenError(f"A token name is 1-64 letters, digits or _.@- characters; got {name!r}.")
        token = new_token()
        row = (name, token_hash(token), json.dumps(sorted(set(profiles))), int(read_only), time.time())
        try:
            self._query("INSERT INTO tokens VALUES (?, ?, ?, ?, ?, NULL)", row, create=True)
        except sqlite3.IntegrityError:
            raise TokenError(
                f"A token named {name!r} already exists; pick another name "
                f"(or `late-mcp token revoke {name}` first and use a new name)."
            ) from None
        return token

    def revoke(self, name: str) -> None:
        done = self._query(
            "UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (time.time(), name)
        )
        if not done or done[0] == 0:
            raise TokenError(f"No active token named {name!r}; `late-mcp token list` shows them.")

    def list(self) -> list[TokenInfo]:
        rows = self._query(
            "SELECT name, profiles, read_only, created_at, revoked_at FROM tokens ORDER BY created_at"
        )
        return [TokenInfo(r[0], tuple(json.loads(r[1])), bool(r[2]), r[3], r[4]) for r in rows or []]

    def lookup(self, token: str) -> Principal | None:
        rows = self._query(
            "SELECT name, profiles, read_only FROM tokens WHERE hash = ? AND revoked_at IS NULL",
            (token_hash(token),),
        )
        if not rows:
            return None
        name, profiles, read_only = rows[0]
        limited = frozenset(json.loads(profiles)) or None
        return Principal(name=name, profiles=limited, read_only=bool(read_only))

    def has_tokens(self) -> bool:
        """Any token ever created (revoked ones count: revoking the last token must not open the door)."""
        return bool(self._query("SELECT 1 FROM tokens LIMIT 1"))

    def close(self) -> None:
        with self._lock:
            self._drop()


def _narrow(path: Path, mode: int) -> None:
    """Make a token store readable by its owner only; say so when it was readable by others.
    (Windows keeps permissions in ACLs, which mode bits do not describe.)"""
    if os.name != "nt" and stat.S_IMODE(mode) & 0o077:
        os.chmod(path, 0o600)
        logger.warning(
            "The token store %s was readable by others (mode %o); narrowed to 0600.", path, stat.S_IMODE(mode)
        )
