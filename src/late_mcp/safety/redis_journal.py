"""The journal and the exactly-once reservations in Redis, for replicas that share one guard.

With LATE_MCP_REDIS_URL set, every late-mcp process behind a load balancer reserves the same
keys in the same Redis, so an identical post sent to two replicas at the same moment is made
once, and journal_recent on any replica shows the writes of all. The semantics are those of the
SQLite journal (safety.sqlite_journal): each reservation decision is one Lua script, so it is atomic
on the Redis server, and judged by Redis's clock (TIME), so a replica whose clock is off can
neither take over a live reservation nor hold one past its time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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

PREFIX = "late-mcp:"
RETENTION_S = int(RETENTION.total_seconds())
SCAN_LIMIT = 5_000  # entries read at most to answer one journal_recent

# Times are Redis's own (TIME, in milliseconds), never a replica's: one clock judges every
# reservation's expiry. KEYS: reservation, done. ARGV: owner tool digest at within_ms ttl_ms
# take_unknown forget retention cutoff_iso. Returns {state, tool, digest, result, at, suspect,
# owner, t}: the same decisions as Journal.reserve; `at` (ISO) is kept for rows written before `t`.
_RESERVE = """
local res, done = KEYS[1], KEYS[2]
local owner, tool, digest, at = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local within, ttl = tonumber(ARGV[5]), tonumber(ARGV[6])
local take_unknown, forget, retention, cutoff_iso = ARGV[7] == '1', ARGV[8], tonumber(ARGV[9]), ARGV[10]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local cutoff = now - within
if forget ~= '' and redis.call('HGET', done, 'result') == forget then redis.call('DEL', done) end
local row = nil
if redis.call('EXISTS', res) == 1 then
  local f = redis.call('HMGET', res, 'owner', 'tool', 'digest', 'state', 'at', 'expires', 't')
  row = {owner = f[1], tool = f[2], digest = f[3], state = f[4], at = f[5],
    expires = tonumber(f[6]) or 0, t = tonumber(f[7]) or now}
  if row.t < cutoff then row = nil end
end
if row and row.state == 'pending' and row.expires > now and row.owner ~= owner then
  return {'busy', row.tool, row.digest, '', row.at, '0', '', string.format('%d', row.t)}
end
if redis.call('EXISTS', done) == 1 then
  local d = redis.call('HMGET', done, 'tool', 'digest', 'result', 'at', 't')
  local dt, fresh = tonumber(d[5]), false
  if dt then
    fresh = dt >= cutoff and (row == nil or dt >= row.t)
  else
    dt = now
    fresh = d[4] >= cutoff_iso and (row == nil or d[4] >= row.at)
  end
  if fresh then return {'done', d[1], d[2], d[3], d[4], '0', '', string.format('%d', dt)} end
end
if row and row.state == 'unknown' and not take_unknown then
  return {'unknown', row.tool, row.digest, '', row.at, '0', '', string.format('%d', row.t)}
end
local holder, began, began_t = owner, at, now
if row and row.tool == tool and row.digest == digest then
  holder, began, began_t = row.owner, row.at, row.t
end
redis.call('HSET', res, 'owner', holder, 'tool', tool, 'digest', digest, 'state', 'pending',
  'at', began, 'expires', string.format('%d', now + ttl), 't', string.format('%d', began_t))
redis.call('EXPIRE', res, retention)
if row and row.owner ~= owner then
  return {'mine', row.tool, row.digest, '', row.at, '1', holder, string.format('%d', row.t)}
end
return {'mine', tool, digest, '', began, '0', holder, string.format('%d', began_t)}
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
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
if ARGV[6] ~= '1' or redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[2], 'tool', ARGV[2], 'digest', ARGV[3], 'result', ARGV[4], 'at', ARGV[5],
    't', string.format('%d', now))
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
    """Journal and reservation store in Redis; the same public surface as the SQLite `Journal`."""

    def __init__(self, url: str, *, clock: Callable[[], datetime] | None = None) -> None:
        from redis.asyncio import Redis  # only replicas on Redis pay for the import

        self.url = url
        self.where = shown_url(url)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._redis = Redis.from_url(url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5)
        self._failure: JournalError | None = None
        self._backoff = Backoff()

    @property
    def failure(self) -> JournalError | None:
        """The error that broke it, as in the SQLite journal: set by a failed write (a reservation,
        a commit, a release, an entry) and kept until :meth:`recover` finds Redis writable again."""
        return self._failure

    def _fail(self, what: str, exc: BaseException) -> JournalError:
        detail = str(exc).replace(self.url, self.where)
        return JournalError(
            f"late-mcp journal {self.where}: {what} failed ({type(exc).__name__}: {detail}). "
            "Check that LATE_MCP_REDIS_URL points at a running Redis this server may write to."
        )

    async def _call(self, what: str, work: Any, *, write: bool = True) -> Any:
        """Await ``work``; a Redis error becomes a JournalError, and a failed write breaks the
        journal (writes are refused until :meth:`recover`), as a failed SQLite write does."""
        from redis.exceptions import RedisError

        if self._failure is not None:
            if hasattr(work, "close"):
                work.close()  # never awaited: the journal is broken
            raise self._failure.again() from self._failure
        try:
            return await work
        except (RedisError, OSError) as exc:
            failure = self._fail(what, exc)
            if write:
                self._failure = failure
                self._backoff.failed()
            raise failure from None

    async def check(self) -> None:
        """Prove the server takes a write; a failure here marks the journal broken."""
        await self._probe()

    async def _probe(self) -> None:
        probe = f"{PREFIX}probe"
        await self._call("a test write", self._redis.set(probe, "1", ex=10))
        await self._call("a test write", self._redis.delete(probe))

    async def recover(self) -> JournalError | None:
        """The error that still stands, if any: a broken journal tries its test write again, at
        most once per backoff interval; when it passes, writes resume."""
        failure = self._failure
        if failure is None or not self._backoff.due():
            return failure
        self._failure = None
        try:
            await self._probe()
        except JournalError as exc:
            log.info("%s Writes stay refused; trying again later.", exc)
            return exc
        self._backoff.reset()
        log.warning("late-mcp journal %s works again: writes are accepted again", self.where)
        return None

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
        raw = await self._call(
            "reading entries", self._redis.lrange(f"{PREFIX}entries", 0, SCAN_LIMIT - 1), write=False
        )
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

    # -- reservations (late_mcp.safety.reservations.Reservations) ----------------------------------------

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
        now = self._clock()  # only for the ISO `at` shown to people; Redis's TIME decides
        args = [owner, tool, digest, iso(now), str(int(within.total_seconds() * 1000)), str(int(ttl * 1000))]
        args += ["1" if take_unknown else "0", forget or "", str(RETENTION_S), iso(now - within)]
        state, c_tool, c_digest, result, at, suspect, holder, millis = await self._call(
            "reserving", self._redis.eval(_RESERVE, 2, *self._keys(scope, key), *args)
        )
        at = iso(datetime.fromtimestamp(int(millis) / 1000, UTC)) if millis else at
        return Claim(state, c_tool, c_digest, result or None, at, suspect=suspect == "1", owner=holder)

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
