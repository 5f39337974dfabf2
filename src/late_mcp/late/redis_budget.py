"""Late's rate limit shared by replicas: what is left in the window, kept in Redis.

Each replica learns the window from Late's X-RateLimit-* headers and counts its requests
against the same number, so together they slow down instead of running into 429s. A Redis
failure here never blocks a request: the limit is a courtesy, the journal is the safety net.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("late_mcp.ratelimit")
KEY = "late-mcp:rate:remaining"
WINDOW_S = 60

# Returns 0 to go ahead (counted), or the milliseconds until the window resets.
_TAKE = """
local left = redis.call('GET', KEYS[1])
if not left then return 0 end
if tonumber(left) <= 0 then
  local wait = redis.call('PTTL', KEYS[1])
  if wait < 0 then return 0 end
  return wait
end
redis.call('DECR', KEYS[1])
return 0
"""


class RedisRateBudget:
    """The shared window (late_mcp.late.ratelimit.SharedBudget) in Redis."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)

    async def take(self) -> float:
        from redis.exceptions import RedisError

        try:
            wait_ms = int(await self._redis.eval(_TAKE, 1, KEY))
        except (RedisError, OSError) as exc:
            log.warning("shared rate budget unavailable (%s); going on without it", type(exc).__name__)
            return 0.0
        return wait_ms / 1000

    async def learn(self, remaining: int, reset_at: float | None) -> None:
        from redis.exceptions import RedisError

        seconds = int(reset_at - time.time()) if reset_at is not None else WINDOW_S
        try:
            await self._redis.set(KEY, remaining, ex=max(1, min(seconds, WINDOW_S + 5)))
        except (RedisError, OSError) as exc:
            log.warning("shared rate budget not updated (%s)", type(exc).__name__)

    async def aclose(self) -> None:
        await self._redis.aclose()
