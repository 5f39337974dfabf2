"""The journal and the exactly-once reservations in Redis, for replicas that share one guard.

With LATE_MCP_REDIS_URL set, every late-mcp process behind a load balancer reserves the same
keys in the same Redis, so an identical post sent to two replicas at the same moment is made
once, and journal_recent on any replica shows the writes of all. The semantics are those of the
SQLite journal (late_mcp.journal): each reservation decision is one Lua script, so it is atomic
on the Redis server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from late_mcp.journal import MAX_ENTRIES, RETENTION, JournalEntry, JournalError, flat_summary, iso
from late_mcp.reservations import Claim, Scope

PREFIX = "late-mcp:"
RETENTION_S = int(RETENTION.total_seconds())
SCAN_LIMIT = 5_000  # entries read at most to answer one journal_recent

# KEYS: reservation, done. ARGV: owner tool digest at cutoff expires take_unknown forget retention.
# Returns {state, tool, digest, result, at, suspect}: the same decisions as Journal.reserve.
_RESERVE = """
local res, done = KEYS[1], KEYS[2]
local owner, tool, digest, at, cutoff, expires = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local take_unknown, forget, retention = ARGV[7] == '1', ARGV[8], tonumber(ARGV[9])
if forget ~= '' and redis.call('HGET', done, 'result') == forget then redis.call('DEL', done) end
local row = nil
if redis.call('EXISTS', res) == 1 then
  local f = redis.call('HMGET', res, 'owner', 'tool', 'digest', 'state', 'at', 'expires')
  row = {owner = f[1], tool = f[2], digest = f[3], state = f[4], at = f[5], expires = f[6] or ''}
  if row.at < cutoff then row = nil end
end
if row and row.state == 'pending' and row.expires > at and row.owner ~= owner then
  return {'busy', row.tool, row.digest, '', row.at, '0'}
end
if redis.call('EXISTS', done) == 1 then
  local d = redis.call('HMGET', done, 'tool', 'digest', 'result', 'at')
  if d[4] >= cutoff and (row == nil or d[4] >= row.at) then
    return {'done', d[1], d[2], d[3], d[4], '0'}
  end
end
if row and row.state == 'unknown' and not take_unknown then
  return {'unknown', row.tool, row.digest, '', row.at, '0'}
end
redis.call('HSET', res, 'owner', owner, 'tool', tool, 'digest', digest, 'state', 'pending',
  'at', at, 'expires', expires)
redis.call('EXPIRE', res, retention)
if row and row.owner ~= owner then return {'mine', tool, digest, '', row.at, '1'} end
return {'mine', tool, digest, '', at, '0'}
"""
# KEYS: reservation. ARGV: owner, unknown ('1' keeps an 'outcome unknown' marker).
_RELEASE = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'state', 'unknown', 'expires', '')
else
  redis.call('DEL', KEYS[1])
end
return 1
"""
# KEYS: reservation, done. ARGV: owner ('' for none), tool, digest, result, at, first_wins, retention.
_COMMIT = """
if ARGV[6] ~= '1' or redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[2], 'tool', ARGV[2], 'digest', ARGV[3], 'result', ARGV[4], 'at', ARGV[5])
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[7]))
end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


# Tools whose summaries could hold a live link before late-mcp kept links out of the journal.
_LINK_TOOLS = frozenset(
    {"invites_create", "accounts_connect_link", "media_upload_link", "media_browser_upload_start"}
)


def _entry(fields: dict[str, Any]) -> JournalEntry:
    """An entry as stored; one written before callers were recorded shows no summary for a tool
    whose summary could hold a live link (the SQLite journal drops those when it migrates)."""
    entry = JournalEntry(**fields)
    if entry.caller is None and entry.tool in _LINK_TOOLS:
        entry = replace(entry, summary=None)
    return entry


def shown_url(url: str) -> str:
    """The Redis URL without its password, for messages and journal_recent."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username + '@' if parts.username else ''}{host}{f':{parts.port}' if parts.port else ''}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class RedisJournal:
    """Journal and reservation store in Redis; the same public surface as late_mcp.journal.Journal."""

    def __init__(self, url: str, *, clock: Callable[[], datetime] | None = None) -> None:
        from redis.asyncio import Redis  # only replicas on Redis pay for the import

        self.url = url
        self.where = shown_url(url)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._redis = Redis.from_url(url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5)
        self._failure: JournalError | None = None

    @property
    def failure(self) -> JournalError | None:
        return self._failure

    def _fail(self, what: str, exc: BaseException) -> JournalError:
        detail = str(exc).replace(self.url, self.where)
        return JournalError(
            f"late-mcp journal {self.where}: {what} failed ({type(exc).__name__}: {detail}). "
            "Check that LATE_MCP_REDIS_URL points at a running Redis this server may write to."
        )

    async def _call(self, what: str, work: Any) -> Any:
        from redis.exceptions import RedisError

        if self._failure is not None:
            raise self._failure
        try:
            return await work
        except (RedisError, OSError) as exc:
            raise self._fail(what, exc) from None

    async def check(self) -> None:
        """Prove the server takes a write; a failure here marks the journal broken."""
        probe = f"{PREFIX}probe"
        try:
            await self._call("a test write", self._redis.set(probe, "1", ex=10))
            await self._call("a test write", self._redis.delete(probe))
        except JournalError as exc:
            self._failure = exc
            raise

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
        entry_id = int(await self._call("writing an entry", self._redis.incr(f"{PREFIX}entry-id")))
        entry = JournalEntry(
            entry_id,
            iso(self._clock()),
            tool,
            [str(t) for t in targets],
            digest,
            outcome,
            request_id,
            flat_summary(summary),
            caller,
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lpush(f"{PREFIX}entries", json.dumps(asdict(entry), ensure_ascii=False))
            pipe.ltrim(f"{PREFIX}entries", 0, MAX_ENTRIES - 1)
            await self._call("writing an entry", pipe.execute())
        return entry

    async def recent(
        self,
        *,
        since: datetime | None = None,
        tool: str | None = None,
        limit: int = 50,
        caller: str | None = None,
    ) -> list[JournalEntry]:
        raw = await self._call("reading entries", self._redis.lrange(f"{PREFIX}entries", 0, SCAN_LIMIT - 1))
        after = None if since is None else iso(since)
        entries = [_entry(json.loads(item)) for item in raw]
        kept = [
            e
            for e in entries
            if (after is None or e.at >= after)
            and (tool is None or e.tool == tool)
            and (caller is None or e.caller == caller)
        ]
        kept.sort(key=lambda e: (e.at, e.id), reverse=True)
        return kept[: max(0, limit)]

    # -- reservations (late_mcp.reservations.Reservations) ----------------------------------------

    @staticmethod
    def _keys(scope: Scope, key: str) -> list[str]:
        return [f"{PREFIX}res:{scope}:{key}", f"{PREFIX}done:{scope}:{key}"]

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
        now = self._clock()
        args = [owner, tool, digest, iso(now), iso(now - within), iso(now + timedelta(seconds=ttl))]
        args += ["1" if take_unknown else "0", forget or "", str(RETENTION_S)]
        state, c_tool, c_digest, result, at, suspect = await self._call(
            "reserving", self._redis.eval(_RESERVE, 2, *self._keys(scope, key), *args)
        )
        return Claim(state, c_tool, c_digest, result or None, at, suspect=suspect == "1")

    async def commit(
        self, scope: Scope, key: str, *, owner: str | None, tool: str, digest: str, result: str
    ) -> None:
        first_wins = "1" if scope == "idempotency" else "0"  # as the SQLite journal: keys keep the first
        args = [owner or "", tool, digest, result, iso(self._clock()), first_wins, str(RETENTION_S)]
        await self._call("recording a result", self._redis.eval(_COMMIT, 2, *self._keys(scope, key), *args))

    async def release(self, scope: Scope, key: str, *, owner: str, unknown: bool = False) -> None:
        reservation = self._keys(scope, key)[0]
        await self._call(
            "releasing a reservation",
            self._redis.eval(_RELEASE, 1, reservation, owner, "1" if unknown else "0"),
        )

    async def aclose(self) -> None:
        await self._redis.aclose()
