"""Opening the token store the settings name: every replica and `late-mcp token` share it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from late_mcp.config.http import HttpSettings, oauth_store_path, token_store_path
from late_mcp.config.settings import read_redis_url

if TYPE_CHECKING:
    from late_mcp.auth.oauth_store import OAuthStore
    from late_mcp.auth.tokens import ClosableTokenStore


def open_token_store(http: HttpSettings, env: Mapping[str, str] | None = None) -> ClosableTokenStore:
    """The token store every replica shares: Redis with LATE_MCP_REDIS_URL, else the SQLite file."""
    redis_url = read_redis_url(os.environ if env is None else env)
    if redis_url:
        from late_mcp.auth.redis_tokens import RedisTokenStore

        return RedisTokenStore(redis_url)
    from late_mcp.auth.tokens import SQLiteTokenStore

    return SQLiteTokenStore(token_store_path(http, env))


def open_oauth_store(http: HttpSettings, env: Mapping[str, str] | None = None) -> OAuthStore:
    """The OAuth store (users, grants, tokens) every replica shares: Redis with LATE_MCP_REDIS_URL,
    else oauth.sqlite3 beside the token store."""
    from late_mcp.auth.oauth_kv import KeyValue, RedisKeyValue, SQLiteKeyValue
    from late_mcp.auth.oauth_store import OAuthStore

    redis_url = read_redis_url(os.environ if env is None else env)
    kv: KeyValue = RedisKeyValue(redis_url) if redis_url else SQLiteKeyValue(oauth_store_path(http, env))
    return OAuthStore(kv)
