"""Opening the token store the settings name: every replica and `late-mcp token` share it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from late_mcp.config.http import HttpSettings, token_store_path
from late_mcp.config.settings import read_redis_url

if TYPE_CHECKING:
    from late_mcp.auth.tokens import ClosableTokenStore


def open_token_store(http: HttpSettings, env: Mapping[str, str] | None = None) -> ClosableTokenStore:
    """The token store every replica shares: Redis with LATE_MCP_REDIS_URL, else the SQLite file."""
    redis_url = read_redis_url(os.environ if env is None else env)
    if redis_url:
        from late_mcp.auth.redis_tokens import RedisTokenStore

        return RedisTokenStore(redis_url)
    from late_mcp.auth.tokens import SQLiteTokenStore

    return SQLiteTokenStore(token_store_path(http, env))
