"""Scoped tokens in Redis, so every replica honours a new or revoked token at once.

The same contract as the SQLite store (late_mcp.auth.tokens.TokenStore): only a token's SHA-256 hash
is kept, a revoked token stays listed (and keeps authentication on), names are unique. A Redis
that cannot be reached raises `TokenStoreUnavailable` (the server then answers 503); an emptied
one (FLUSHALL, a restart without persistence) simply has no tokens, which a server that already
requires them answers with 401.
"""

from __future__ import annotations

import json
import time

from late_mcp.auth.principal import Principal
from late_mcp.auth.tokens import (
    NAME_PATTERN,
    TokenError,
    TokenInfo,
    new_token,
    redis_reached,
    token_hash,
)

BY_NAME = "late-mcp:tokens"  # name -> {hash, profiles, read_only, created_at, revoked_at}
BY_HASH = "late-mcp:token-hashes"  # hash of an active token -> name


_reached = redis_reached("The token store")  # Redis's errors as TokenStoreUnavailable


class RedisTokenStore:
    def __init__(self, url: str) -> None:
        from redis import Redis

        self._redis = Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)

    @_reached
    def create(self, name: str, profiles: tuple[str, ...], read_only: bool) -> str:
        if not NAME_PATTERN.match(name):
            raise TokenError(f"A token name is 1-64 letters, digits or _.@- characters; got {name!r}.")
        token = new_token()
        record = {
            "hash": token_hash(token),
            "profiles": sorted(set(profiles)),
            "read_only": read_only,
            "created_at": time.time(),
            "revoked_at": None,
        }
        if not self._redis.hsetnx(BY_NAME, name, json.dumps(record)):
            raise TokenError(
                f"A token named {name!r} already exists; pick another name "
                f"(or `late-mcp token revoke {name}` first and use a new name)."
            )
        self._redis.hset(BY_HASH, record["hash"], name)  # type: ignore[arg-type]
        return token

    @_reached
    def revoke(self, name: str) -> None:
        raw = self._redis.hget(BY_NAME, name)
        record = json.loads(raw) if isinstance(raw, str) else None
        if record is None or record["revoked_at"] is not None:
            raise TokenError(f"No active token named {name!r}; `late-mcp token list` shows them.")
        record["revoked_at"] = time.time()
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(BY_HASH, record["hash"])
            pipe.hset(BY_NAME, name, json.dumps(record))
            pipe.execute()

    @_reached
    def list(self) -> list[TokenInfo]:
        stored: dict[str, str] = self._redis.hgetall(BY_NAME)  # type: ignore[assignment]
        records = {name: json.loads(raw) for name, raw in stored.items()}
        infos = [
            TokenInfo(name, tuple(r["profiles"]), bool(r["read_only"]), r["created_at"], r["revoked_at"])
            for name, r in records.items()
        ]
        return sorted(infos, key=lambda info: info.created_at)

    @_reached
    def lookup(self, token: str) -> Principal | None:
        name = self._redis.hget(BY_HASH, token_hash(token))
        raw = self._redis.hget(BY_NAME, name) if isinstance(name, str) else None
        record = json.loads(raw) if isinstance(raw, str) else None
        if record is None or record["revoked_at"] is not None:
            return None
        profiles = record["profiles"]
        return Principal(
            name=str(name), profiles=frozenset(profiles) if profiles else None, read_only=record["read_only"]
        )

    @_reached
    def has_tokens(self) -> bool:
        """Any token ever created (a revoked one counts: revoking the last must not open the door)."""
        return bool(self._redis.hlen(BY_NAME))

    def close(self) -> None:
        self._redis.close()
