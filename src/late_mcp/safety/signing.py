"""The signing secret: one per deployment, shared by every replica and by `late-mcp call`.

Confirm tokens and browser-upload tokens are HMACs under keys derived from this secret, so a
token made by one process is checked by any other that serves the same journal. It lives:

- in Redis when LATE_MCP_REDIS_URL is set: made once with ``SET NX``, read by every replica;
- else in a file beside the journal (``<journal>.secret``, mode 0600, its folders 0700 when
  created), made atomically: written to a private temporary file, then linked into place, which
  never replaces an existing file, so a racing process finds the winner's complete secret;
- in memory only when the journal is in memory too (sandbox, tests): nothing outlives the process.

A secret that cannot be read is never replaced by a made-up one: :class:`SecretUnavailable` says
why and what to do, and what needs the secret is refused (fail closed). A failed read is not
remembered; the next use tries again.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import time
from pathlib import Path
from typing import Protocol

import anyio.to_thread

from late_mcp.core.privatefs import FILE_MODE, make_private_dirs

REDIS_KEY = "late-mcp:signing-secret"
SECRET_BYTES = 32
_READ_ATTEMPTS = 50  # a file made without hard links is briefly empty; wait for its writer (1 s)


class SecretUnavailable(Exception):
    """The signing secret could not be read or made; the message names where and the fix."""


class ServerSecret(Protocol):
    """Where the secret lives, and keys derived from it for each purpose."""

    @property
    def where(self) -> str: ...

    @property
    def shared(self) -> bool:
        """Whether other processes (replicas, `late-mcp call`) use the same secret."""
        ...

    async def key(self, purpose: str) -> bytes:
        """A 32-byte key for `purpose` ("confirm", "upload"); raises SecretUnavailable."""
        ...

    def loaded_key(self, purpose: str) -> bytes | None:
        """The key for `purpose` if the secret has been read already (no I/O), else None; for
        code that cannot wait (the SDK's request-state codec is synchronous)."""
        ...


def derive(master: bytes, purpose: str) -> bytes:
    return hmac.new(master, b"late-mcp/" + purpose.encode(), hashlib.sha256).digest()


class _Cached:
    """Loads the master secret on first use and keeps it; a failure is retried next time."""

    def __init__(self) -> None:
        self._master: bytes | None = None

    async def _load(self) -> bytes:
        raise NotImplementedError

    async def key(self, purpose: str) -> bytes:
        if self._master is None:
            self._master = await self._load()
        return derive(self._master, purpose)

    def loaded_key(self, purpose: str) -> bytes | None:
        return None if self._master is None else derive(self._master, purpose)


class MemorySecret(_Cached):
    """For an in-memory journal: a random secret that dies with the process."""

    where = "in memory (the journal is in memory)"
    shared = False

    async def _load(self) -> bytes:
        return secrets.token_bytes(SECRET_BYTES)


class FileSecret(_Cached):
    """The secret in a 0600 file beside the journal."""

    shared = True

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    @property
    def where(self) -> str:
        return str(self.path)

    async def _load(self) -> bytes:
        return await anyio.to_thread.run_sync(self._read_or_create)

    def _fail(self, problem: str) -> SecretUnavailable:
        return SecretUnavailable(f"the signing secret {self.path} {problem}")

    def _read_or_create(self) -> bytes:
        for _ in range(_READ_ATTEMPTS):
            try:
                text = self._read()
            except FileNotFoundError:
                self._create()
                continue
            if text:
                return self._parse(text)
            time.sleep(0.02)  # in a worker thread: a process that could not link is writing it
        raise self._fail("stays empty; delete it and late-mcp makes a new one")

    def _read(self) -> str:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise self._fail(
                f"cannot be read ({exc.strerror or exc}); check its owner and permissions "
                "(only the user running late-mcp should read it)"
            ) from exc
        with os.fdopen(fd, "r", encoding="ascii", errors="replace") as handle:
            mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
            if os.name != "nt" and mode & 0o077:
                raise self._fail(
                    f"is readable by other users (mode {mode:04o}); run chmod 600 {self.path} "
                    "(or delete it: late-mcp makes a new one, and open confirm tokens stop working)"
                )
            return handle.read(256).strip()

    def _parse(self, text: str) -> bytes:
        try:
            master = bytes.fromhex(text)
        except ValueError:
            master = b""
        if len(master) != SECRET_BYTES:
            raise self._fail(
                f"does not hold a late-mcp secret ({SECRET_BYTES * 2} hex characters); delete it and "
                "late-mcp makes a new one (open confirm tokens then stop working)"
            )
        return master

    def _create(self) -> None:
        try:
            make_private_dirs(self.path.parent)
            temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(8)}")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except OSError as exc:
            raise self._fail(f"cannot be created ({exc.strerror or exc}); make its folder writable") from exc
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(SECRET_BYTES) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, self.path)  # atomic, and never replaces a secret already there
            except FileExistsError:
                pass  # another process made it first: its secret is the one
            except OSError:  # no hard links on this file system: exclusive create, then write
                self._create_in_place()
        finally:
            temporary.unlink(missing_ok=True)

    def _create_in_place(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            return
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(SECRET_BYTES) + "\n")


class RedisSecret(_Cached):
    """The secret in Redis, shared by every replica on it."""

    shared = True

    def __init__(self, url: str, where: str) -> None:
        super().__init__()
        self._url = url
        self._where = where

    @property
    def where(self) -> str:
        return f"{self._where} (key {REDIS_KEY})"

    async def _load(self) -> bytes:
        from redis.asyncio import Redis
        from redis.exceptions import RedisError

        client = Redis.from_url(self._url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5)
        try:
            await client.set(REDIS_KEY, secrets.token_hex(SECRET_BYTES), nx=True)
            text = await client.get(REDIS_KEY)
        except (RedisError, OSError) as exc:
            raise SecretUnavailable(
                f"the signing secret in Redis {self._where} cannot be read ({type(exc).__name__}); "
                "check that LATE_MCP_REDIS_URL points at a running Redis this server may write to"
            ) from None
        finally:
            await client.aclose()
        try:
            master = bytes.fromhex(str(text))
        except ValueError:
            master = b""
        if len(master) != SECRET_BYTES:
            raise SecretUnavailable(
                f"the signing secret in Redis {self._where} (key {REDIS_KEY}) is not one late-mcp made; "
                f"delete that key and late-mcp makes a new one"
            )
        return master


def secret_file_for(journal: Path) -> Path:
    """Where the signing secret lives beside a journal file."""
    return journal.with_name(journal.name + ".secret")


def server_secret(redis_url: str | None, journal_path: Path | None) -> ServerSecret:
    """The secret store that goes with the journal: Redis, a file beside it, or memory."""
    if redis_url:
        from late_mcp.safety.redis_journal import shown_url

        return RedisSecret(redis_url, shown_url(redis_url))
    if journal_path is not None:
        return FileSecret(secret_file_for(journal_path))
    return MemorySecret()
