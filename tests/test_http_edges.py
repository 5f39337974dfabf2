"""The HTTP edges an attacker (or an accident) reaches first: authentication that never fails
open, guessing that is slowed, a private token store, sessions per caller, slow clients that
cannot starve the server, and JSON-RPC messages that are never answered with silence.

Real server processes where the behaviour is about processes (a store deleted or flushed under a
running server, file descriptors, start-up refusals); the in-process app on a real socket where a
test needs the guard's clock.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import redis
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from conftest import make_settings, ok
from contract import ContractCheckingTransport
from httpserve import connect, serving
from late_mcp.auth.tokens import SQLiteTokenStore
from late_mcp.config.http import HttpSettings, shared_token_problem
from late_mcp.sandbox.state import SEED_ACCOUNT_ACME_TWITTER, SEED_PROFILE_ACME
from late_mcp.server.build import build_server
from late_mcp.transports.http_app import Guard, build_http_app
from late_mcp.transports.serving import bind_socket
from test_http_security import INIT
from test_http_transports import clean_env, free_port, healthy
from test_redis import redis_server, redis_url, wait_for_port  # noqa: F401 - fixtures: a real redis-server

pytestmark = pytest.mark.anyio
PING = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
DRAFT = {"content": "Made by nobody", "accounts": [SEED_ACCOUNT_ACME_TWITTER], "is_draft": True}


def bearer(token: str) -> dict[str, str]:
    return {**MCP_HEADERS, "Authorization": f"Bearer {token}"}


def in_session(session_id: str, token: str | None = None) -> dict[str, str]:
    headers = bearer(token) if token else dict(MCP_HEADERS)
    return {**headers, "mcp-session-id": session_id, "mcp-protocol-version": "2025-06-18"}


# -- servers ----------------------------------------------------------------------------------------


@contextmanager
def server_process(
    env: dict[str, str],
    *options: str,
    preexec: Callable[[], None] | None = None,
    pids: list[int] | None = None,
) -> Iterator[tuple[int, list[bytes]]]:
    """A real `late-mcp --sandbox --transport http` on a free loopback port; yields the port and,
    after it stopped (Ctrl-C), its stderr in the list (and its process id in `pids`). Its stderr
    is read all along, so the server never waits on a full pipe."""
    port = free_port()
    command = [sys.executable, "-m", "late_mcp", "--sandbox", "--transport", "http", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, *options], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=preexec
    )
    assert proc.stderr is not None and proc.stdout is not None
    read: list[bytes] = []
    reader = threading.Thread(target=lambda: read.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    stderr: list[bytes] = []
    if pids is not None:
        pids.append(proc.pid)
    try:
        deadline = time.monotonic() + 30
        while not healthy(port):
            assert proc.poll() is None, "the server stopped at start"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield port, stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        out = proc.stdout.read()
        reader.join(timeout=20)
        err = b"".join(read)
        stderr.append(err)
        assert out == b"" and b"Traceback" not in err, err.decode()


def token_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "late_mcp", "token", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.umask(0o022),  # the usual umask: what made the store world-readable
    )


def create_token(env: dict[str, str], name: str, *options: str) -> str:
    made = token_command(env, "create", name, *options)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


@asynccontextmanager
async def guarded(
    transport: httpx2.AsyncBaseTransport, http: HttpSettings, store: SQLiteTokenStore | None = None
) -> AsyncIterator[tuple[str, Guard]]:
    """The real HTTP app in-process on 127.0.0.1, with its guard at hand (for its clock)."""
    sock = bind_socket("127.0.0.1", 0)
    http = dataclasses.replace(http, port=int(sock.getsockname()[1]))
    server = build_server(make_settings(transport=http.transport), transport=transport)
    app = build_http_app(server, http, store)
    async with serving(app, sock) as base:
        yield base, app


def in_legacy_session(base: str, token: str) -> Client:
    """An SDK client that opens a session (the initialize handshake; 2026-07-28 has no sessions)."""
    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=300)
    )
    return Client(streamable_http_client(f"{base}/mcp", http_client=http), mode="legacy")  # type: ignore[arg-type]


async def initialize(web: httpx2.AsyncClient, base: str, token: str | None = None) -> httpx2.Response:
    return await web.post(f"{base}/mcp", json=INIT, headers=bearer(token) if token else MCP_HEADERS)


async def drafts_made(base: str, token: str) -> list[str]:
    async with connect(base, token) as client:
        posts = await ok(client, "posts_list", profile_id=SEED_PROFILE_ACME)
    return [p["content"] for p in posts["posts"] if p.get("content") == DRAFT["content"]]


def remove_files(folder: Path, pattern: str) -> None:
    for path in folder.glob(pattern):
        path.unlink()


async def anonymous_create_fails(base: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the SDK client fails to connect (401), any way it likes
        async with Client(f"{base}/mcp") as client:
            await client.call_tool("posts_create", DRAFT)


# -- 1. authentication never fails open -------------------------------------------------------------


async def test_a_token_store_deleted_under_a_running_server_refuses_everyone(tmp_path: Path) -> None:
    store = tmp_path / "tokens.sqlite3"
    env = clean_env(LATE_MCP_TOKEN_STORE=str(store))
    reader = create_token(env, "acme-reader", "--profile", SEED_PROFILE_ACME, "--read-only")
    with server_process(env) as (port, stderr):
        base = f"http://127.0.0.1:{port}"
        async with httpx2.AsyncClient() as web:
            assert (await initialize(web, base)).status_code == 401
            assert (await initialize(web, base, reader)).status_code == 200
            remove_files(tmp_path, "tokens.sqlite3*")  # the store is gone; the server has it open
            anonymous = await initialize(web, base)
            stale = await initialize(web, base, reader)
            await anonymous_create_fails(base)
            store.write_bytes(b"this is not a database " * 100)  # a store that cannot be read
            broken = await initialize(web, base, reader)
            store.unlink()
        admin = create_token(env, "admin")  # a new store file: the server reads it at once
        made = await drafts_made(base, admin)
        async with httpx2.AsyncClient() as web:
            reader_again = await initialize(web, base, reader)
    assert anonymous.status_code == 401 and "Authorization: Bearer" in anonymous.json()["message"]
    assert stale.status_code == 401  # the deleted store's tokens are gone with it
    assert broken.status_code == 503 and "token store" in broken.json()["message"]
    assert made == []  # the anonymous posts_create made no post
    assert reader_again.status_code == 401
    log = stderr[0].decode()
    assert "holds no token any more" in log and "late-mcp token create" in log
    assert f"The token store {store} cannot be read" in log
    assert reader not in log and admin not in log


async def test_flushing_the_redis_that_holds_the_tokens_refuses_everyone(
    redis_url: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    env = clean_env(LATE_MCP_REDIS_URL=redis_url, LATE_JOURNAL_PATH=str(tmp_path / "journal.sqlite3"))
    reader = create_token(env, "acme-reader", "--profile", SEED_PROFILE_ACME, "--read-only")
    with server_process(env) as (port, stderr):
        base = f"http://127.0.0.1:{port}"
        async with httpx2.AsyncClient() as web:
            assert (await initialize(web, base)).status_code == 401
            with redis.Redis.from_url(redis_url) as raw:
                raw.flushall()  # what a Redis restart without persistence does
            anonymous = await initialize(web, base)
            stale = await initialize(web, base, reader)
            await anonymous_create_fails(base)
        admin = create_token(env, "admin")
        made = await drafts_made(base, admin)
    assert anonymous.status_code == 401 and stale.status_code == 401
    assert made == []
    log = stderr[0].decode()
    assert "holds no token any more" in log and reader not in log and admin not in log


@pytest.fixture
def redis_to_stop() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own, which the test may stop."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=10)


async def test_a_redis_that_cannot_be_asked_refuses_with_503_and_says_why(
    redis_to_stop: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    url, cache = redis_to_stop
    env = clean_env(LATE_MCP_REDIS_URL=url, LATE_JOURNAL_PATH=str(tmp_path / "journal.sqlite3"))
    alice = create_token(env, "alice")
    with server_process(env) as (port, stderr):
        base = f"http://127.0.0.1:{port}"
        async with httpx2.AsyncClient() as web:
            assert (await initialize(web, base, alice)).status_code == 200
            cache.terminate()
            await anyio.to_thread.run_sync(cache.wait)
            down = await initialize(web, base, alice)
            anonymous = await initialize(web, base)
            health = await web.get(f"{base}/healthz")
    assert down.status_code == 503 and down.headers["retry-after"] == "5"
    assert "token store cannot be asked" in down.json()["message"]
    assert anonymous.status_code == 401 and health.status_code == 200
    log = stderr[0].decode()
    assert "The token store in Redis (LATE_MCP_REDIS_URL) cannot be asked" in log and alice not in log


async def test_a_token_store_unreachable_at_start_lets_nobody_in(tmp_path: Path) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    env = clean_env(LATE_MCP_REDIS_URL=nowhere, LATE_JOURNAL_PATH=str(tmp_path / "journal.sqlite3"))
    with server_process(env) as (port, stderr):
        base = f"http://127.0.0.1:{port}"
        async with httpx2.AsyncClient() as web:
            anonymous = await initialize(web, base)
            guess = await initialize(web, base, "lmcp_anything")
    assert anonymous.status_code == 401 and guess.status_code == 503
    log = stderr[0].decode()
    assert "(token required)" in log and "cannot be asked" in log


async def test_authentication_once_on_stays_on_when_the_store_empties(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    http = HttpSettings(transport="http")
    async with guarded(late_transport, http, store) as (base, guard), httpx2.AsyncClient() as web:
        before = await initialize(web, base)  # no token anywhere yet: a local server is open
        other = SQLiteTokenStore(tmp_path / "tokens.sqlite3")  # `late-mcp token create`, elsewhere
        other.create("alice", (), False)
        other.close()
        after = await initialize(web, base)
        remove_files(tmp_path, "tokens.sqlite3*")
        emptied = await initialize(web, base)
    store.close()
    assert before.status_code == 200 and after.status_code == 401 and emptied.status_code == 401
    assert guard.required


# -- 2. shared secrets long enough, guessing slowed ---------------------------------------------------


def test_a_short_shared_token_stops_a_server_off_loopback() -> None:
    short = "QJ7wK"
    env = clean_env(LATE_MCP_TOKEN=short)
    # 192.0.2.1 is a documentation address no machine has: nothing is bound either way.
    command = [sys.executable, "-m", "late_mcp", "--sandbox", "--transport", "http", "--host", "192.0.2.1"]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and short not in refused.stderr
    for part in ("LATE_MCP_TOKEN is 5 characters", "at least 32", "late-mcp token create NAME"):
        assert part in refused.stderr
    assert 'python -c "import secrets; print(secrets.token_urlsafe(32))"' in refused.stderr
    assert shared_token_problem(HttpSettings(host="0.0.0.0", token="x" * 32)) is None
    assert shared_token_problem(HttpSettings(host="127.0.0.1", token=short)) is None  # this machine only


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_wrong_tokens_from_one_address_are_slowed_and_other_addresses_are_not(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    alice = store.create("alice", (), False)
    clock = Clock()
    other_address = httpx2.AsyncHTTPTransport(local_address="127.0.0.2")
    async with (
        guarded(late_transport, HttpSettings(transport="http"), store) as (base, guard),
        httpx2.AsyncClient() as one,
        httpx2.AsyncClient(transport=other_address) as two,
    ):
        guard.failures.clock = clock

        async def guesses(web: httpx2.AsyncClient, count: int) -> list[int]:
            return [(await initialize(web, base, f"lmcp_guess{n}")).status_code for n in range(count)]

        first_round = await guesses(one, 10)
        blocked = await initialize(one, base, "lmcp_guess-after")
        right_but_blocked = await initialize(one, base, alice)
        elsewhere = [(await initialize(two, base, alice)).status_code, *(await guesses(two, 3))]
        still_blocked = await initialize(one, base, alice)  # another address's success changes nothing
        clock.now += 61
        after_block = await initialize(one, base, alice)
        second_round = await guesses(one, 10)
        blocked_longer = await initialize(one, base, alice)
    store.close()
    assert first_round == [401] * 10
    assert blocked.status_code == 429 and blocked.headers["retry-after"] == "60"
    assert "Too many wrong tokens from this address" in blocked.json()["message"]
    assert right_but_blocked.status_code == 429  # not even looked at
    assert elsewhere == [200, 401, 401, 401]
    assert still_blocked.status_code == 429
    assert after_block.status_code == 200
    assert second_round == [401] * 10  # a success does not reset the count
    assert blocked_longer.status_code == 429 and blocked_longer.headers["retry-after"] == "120"


async def test_parallel_guesses_are_bounded_like_sequential_ones(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    alice = store.create("alice", (), False)
    statuses: list[int] = []
    async with (
        guarded(late_transport, HttpSettings(transport="http"), store) as (base, _),
        httpx2.AsyncClient() as web,
    ):
        assert (await initialize(web, base, alice)).status_code == 200  # a token known to be good

        async def guess(n: int) -> None:
            statuses.append((await initialize(web, base, f"lmcp_parallel{n}")).status_code)

        async def honest() -> None:
            statuses.append((await web.post(f"{base}/mcp", json=PING, headers=bearer(alice))).status_code)

        async with anyio.create_task_group() as group:
            for n in range(30):
                group.start_soon(guess, n)
            group.start_soon(honest)
    store.close()
    assert statuses.count(401) == 10  # never more wrong tokens checked than one by one
    assert statuses.count(429) + statuses.count(401) + statuses.count(400) == 31
    assert statuses.count(429) >= 20


# -- 3. a private token store ----------------------------------------------------------------------


def test_the_token_store_is_made_private_and_a_readable_one_is_narrowed(tmp_path: Path) -> None:
    store = tmp_path / "made-here" / "tokens.sqlite3"
    env = clean_env(LATE_MCP_TOKEN_STORE=str(store))
    create_token(env, "alice")
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700
    store.chmod(0o644)
    listed = token_command(env, "list")
    assert listed.returncode == 0 and "alice" in listed.stdout
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert f"The token store {store} was readable by others (mode 644); narrowed to 0600." in listed.stderr


# -- 6. sessions per caller -------------------------------------------------------------------------


async def test_one_token_cannot_take_every_session(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    reader = store.create("acme-reader", (SEED_PROFILE_ACME,), True)
    admin = store.create("admin", (), False)
    http = HttpSettings(transport="http", max_sessions=6)  # a share of 3 per caller
    async with guarded(late_transport, http, store) as (base, _), httpx2.AsyncClient() as web:
        opened = [await initialize(web, base, reader) for _ in range(6)]
        ids = [answer.headers["mcp-session-id"] for answer in opened]
        pings = [
            (await web.post(f"{base}/mcp", json=PING, headers=in_session(sid, reader))).status_code
            for sid in ids
        ]
        async with in_legacy_session(base, admin) as client:  # a session of its own, and a call in it
            listed = await ok(client, "profiles_list")
            admins = await initialize(web, base, admin)
            hijack = await web.post(
                f"{base}/mcp", json=PING, headers=in_session(admins.headers["mcp-session-id"], reader)
            )
    store.close()
    assert [answer.status_code for answer in opened] == [200] * 6  # each evicted its own oldest
    assert pings == [404, 404, 404, 200, 200, 200]
    assert listed["profiles"]  # the admin still got a session and a tool call
    assert admins.status_code == 200
    assert hijack.status_code == 404  # a session answers only the caller that opened it


async def test_racing_opens_stay_within_a_callers_share(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    reader = store.create("acme-reader", (SEED_PROFILE_ACME,), True)
    admin = store.create("admin", (), False)
    http = HttpSettings(transport="http", max_sessions=6)
    answers: list[httpx2.Response] = []
    async with guarded(late_transport, http, store) as (base, _), httpx2.AsyncClient() as web:

        async def open_one() -> None:
            answers.append(await initialize(web, base, reader))

        async with anyio.create_task_group() as group:
            for _ in range(12):
                group.start_soon(open_one)
        ids = [a.headers["mcp-session-id"] for a in answers if a.status_code == 200]
        alive = [
            sid
            for sid in ids
            if (await web.post(f"{base}/mcp", json=PING, headers=in_session(sid, reader))).status_code == 200
        ]
        async with in_legacy_session(base, admin) as client:
            listed = await ok(client, "profiles_list")
    store.close()
    assert {a.status_code for a in answers} <= {200, 503} and ids
    for refused in (a for a in answers if a.status_code == 503):
        assert "half of LATE_MCP_MAX_SESSIONS=6" in refused.json()["error"]["message"]
    assert 1 <= len(alive) <= 3
    assert listed["profiles"]


async def test_a_full_server_makes_room_for_a_caller_with_fewer_sessions(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    a, b, c = (store.create(name, (), False) for name in ("a", "b", "c"))
    four, two = HttpSettings(transport="http", max_sessions=4), HttpSettings(transport="http", max_sessions=2)
    async with guarded(late_transport, four, store) as (base, _), httpx2.AsyncClient() as web:
        held = [await initialize(web, base, token) for token in (a, a, b, b)]  # full: 2 + 2
        newcomer = await initialize(web, base, c)
        a_first = held[0].headers["mcp-session-id"]
        a_first_ping = await web.post(f"{base}/mcp", json=PING, headers=in_session(a_first, a))
    async with guarded(late_transport, two, store) as (base, _), httpx2.AsyncClient() as web:
        one_each = [await initialize(web, base, token) for token in (a, b)]
        nothing_to_give = await initialize(web, base, c)
    store.close()
    assert [h.status_code for h in held] == [200] * 4
    assert newcomer.status_code == 200 and a_first_ping.status_code == 404  # a gave up its oldest
    assert [h.status_code for h in one_each] == [200, 200]
    assert nothing_to_give.status_code == 503
    assert "all 2 (LATE_MCP_MAX_SESSIONS) are in use" in nothing_to_give.json()["error"]["message"]


class Held(httpx2.AsyncBaseTransport):
    """Passes requests on to the sandbox, holding each until `release` is set."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.entered = anyio.Event()
        self.release = anyio.Event()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.entered.set()
        await self.release.wait()
        return await self.inner.handle_async_request(request)


async def test_a_caller_whose_sessions_are_all_busy_is_told_why(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    reader = store.create("acme-reader", (SEED_PROFILE_ACME,), True)
    held = Held(late_transport)
    http = HttpSettings(transport="http", max_sessions=2)  # a share of 1
    async with guarded(held, http, store) as (base, _), httpx2.AsyncClient() as web:
        async with in_legacy_session(base, reader) as client, anyio.create_task_group() as group:
            group.start_soon(client.call_tool, "profiles_list", {})
            with anyio.fail_after(20):
                await held.entered.wait()  # the tool call is in flight: the only session is busy
            refused = await initialize(web, base, reader)
            held.release.set()
        afterwards = await initialize(web, base, reader)
    store.close()
    assert refused.status_code == 503
    message = refused.json()["error"]["message"]
    assert "it holds 1, the most one caller may hold (half of LATE_MCP_MAX_SESSIONS=2)" in message
    assert "each is answering a request" in message and "DELETE" in message
    assert afterwards.status_code == 200


async def test_sse_streams_are_shared_out_per_caller(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    alice, bob = store.create("alice", (), False), store.create("bob", (), False)
    http = HttpSettings(transport="sse", max_sessions=2)
    async with (
        guarded(late_transport, http, store) as (base, _),
        connect(base, alice, sse=True) as first,
        httpx2.AsyncClient() as web,
    ):
        await first.call_tool("time_now", {})
        second = await web.get(f"{base}/sse", headers={"Authorization": f"Bearer {alice}"})
        async with connect(base, bob, sse=True) as other:
            theirs = await other.call_tool("time_now", {})
    store.close()
    assert second.status_code == 503
    assert "this token holds 1, the most one caller may hold" in second.json()["error"]
    assert not theirs.is_error


# -- 7. slow clients cannot starve the server -------------------------------------------------------


def few_open_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))


async def test_slow_header_clients_are_dropped_and_others_are_still_served() -> None:
    env = clean_env(LATE_MCP_MAX_CONNECTIONS="20", LATE_MCP_HEADER_TIMEOUT="2")
    dropped: list[bytes] = []
    still_open = connected = 0
    with server_process(env, preexec=few_open_files) as (port, stderr):

        async def dribble() -> None:
            nonlocal still_open, connected
            try:
                stream = await anyio.connect_tcp("127.0.0.1", port)
            except OSError:
                dropped.append(b"refused")
                return
            finally:
                connected += 1
            async with stream:
                try:
                    await stream.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    for _ in range(150):  # a byte every 0.2 s: 30 s of headers at most
                        with anyio.move_on_after(0.2):
                            dropped.append(await stream.receive())
                            return
                        await stream.send(b"X")
                except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError):
                    dropped.append(b"closed")
                    return
            still_open += 1

        async with anyio.create_task_group() as group:
            for _ in range(150):  # more than the server's 128 open files
                group.start_soon(dribble)
            with anyio.fail_after(30):
                while connected < 150:  # noqa: ASYNC110 - a count, not an event
                    await anyio.sleep(0.05)
            await anyio.sleep(0.3)  # and they have started dribbling
            async with httpx2.AsyncClient(timeout=10) as web:
                health = await web.get(f"http://127.0.0.1:{port}/healthz")
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                result = await client.call_tool("time_now", {})
    assert health.status_code == 200 and not result.is_error
    assert still_open == 0 and len(dropped) == 150
    assert all(answer in (b"closed", b"refused") or answer.startswith(b"HTTP/1.1 ") for answer in dropped)
    assert any(answer.startswith(b"HTTP/1.1 408") for answer in dropped)  # timed out while dribbling
    assert b"Too many open files" not in stderr[0]
    # 130 and more connections closed, at most one log line per 10 s about it
    assert 1 <= stderr[0].count(b"Closed the connection waiting longest for its headers") <= 3


def test_the_open_file_limit_is_raised_to_the_hard_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard < 512 or not Path("/proc/self/limits").exists():
        pytest.skip("needs a finite hard limit on open files and /proc")

    def low_soft_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    pids: list[int] = []
    with server_process(clean_env(), preexec=low_soft_limit, pids=pids):
        limits = Path(f"/proc/{pids[0]}/limits").read_text()
    line = next(row for row in limits.splitlines() if row.startswith("Max open files"))
    assert line.split()[3:5] == [str(hard), str(hard)]


# -- 20. every message answered -----------------------------------------------------------------------

BAD_IDS: list[Any] = [None, 1.5, True, False, {"n": 1}, [1]]
BAD_SHAPES: list[Any] = [
    {"jsonrpc": "1.0", "id": 3, "method": "ping"},
    {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": [1]},
    {"jsonrpc": "2.0", "id": 3},
    {"jsonrpc": "2.0", "id": 3, "method": 7},
]


@pytest.mark.parametrize("stateless", [False, True])
async def test_a_message_with_a_bad_id_is_refused_not_dropped(
    stateless: bool, late_transport: ContractCheckingTransport
) -> None:
    http = HttpSettings(transport="http", stateless=stateless)
    async with guarded(late_transport, http) as (base, _), httpx2.AsyncClient() as web:
        opened = await initialize(web, base)
        headers = MCP_HEADERS if stateless else in_session(opened.headers["mcp-session-id"])
        answers = [
            await web.post(
                f"{base}/mcp", json={"jsonrpc": "2.0", "id": bad, "method": "tools/list"}, headers=headers
            )
            for bad in BAD_IDS
        ]
        shapes = [await web.post(f"{base}/mcp", json=shape, headers=headers) for shape in BAD_SHAPES]
        batch = await web.post(f"{base}/mcp", json=[PING, {**PING, "id": 9}], headers=headers)
        bad_reply = await web.post(
            f"{base}/mcp", json={"jsonrpc": "2.0", "id": 4, "result": 1}, headers=headers
        )
        empty = await web.post(f"{base}/mcp", content=b"", headers=headers)
        fine = await web.post(f"{base}/mcp", json=PING, headers=headers)
    for bad, answer in zip(BAD_IDS, answers, strict=True):
        assert answer.status_code == 400, (bad, answer.status_code, answer.text)
        assert answer.json()["id"] is None and answer.json()["error"]["code"] == -32600
        assert '"id" must be a string or a whole number' in answer.json()["error"]["message"]
    for shape, answer in zip(BAD_SHAPES, shapes, strict=True):
        assert answer.status_code == 400 and answer.json()["error"]["code"] == -32600, (shape, answer.text)
        assert answer.json()["id"] == 3  # a usable id is kept
    assert batch.status_code == 400 and [e["id"] for e in batch.json()] == [2, 9]
    assert bad_reply.status_code == 400 and bad_reply.json()["error"]["code"] == -32600
    assert "not a valid JSON-RPC 2.0 response" in bad_reply.json()["error"]["message"]
    assert empty.status_code == 400 and empty.json()["error"]["code"] == -32700
    assert fine.status_code == 200


async def test_a_bad_id_over_sse_is_refused_too(late_transport: ContractCheckingTransport) -> None:
    async with (
        guarded(late_transport, HttpSettings(transport="sse")) as (base, _),
        httpx2.AsyncClient() as web,
        web.stream("GET", f"{base}/sse") as events,
    ):
        endpoint = ""
        async for line in events.aiter_lines():
            if line.startswith("data:"):
                endpoint = line.removeprefix("data:").strip()
                break
        answers = [
            await web.post(f"{base}{endpoint}", json={"jsonrpc": "2.0", "id": bad, "method": "ping"})
            for bad in BAD_IDS
        ]
    assert endpoint.startswith("/messages/")
    for answer in answers:
        assert answer.status_code == 400 and json.loads(answer.text)["error"]["code"] == -32600


def test_connection_settings_come_from_late_mcp_variables() -> None:
    from late_mcp.config.settings import ConfigError
    from late_mcp.transports.http_connections import connection_budget

    http = HttpSettings.from_env({"LATE_MCP_HEADER_TIMEOUT": "2.5", "LATE_MCP_MAX_CONNECTIONS": "50"})
    assert (http.header_timeout, http.max_connections) == (2.5, 50)
    defaults = HttpSettings.from_env({})
    assert (defaults.header_timeout, defaults.max_connections) == (10.0, 1000)
    for name, value, reason in (
        ("LATE_MCP_HEADER_TIMEOUT", "0", "must be a number of seconds greater than 0"),
        ("LATE_MCP_MAX_CONNECTIONS", "none", "must be a whole number of at least 1"),
    ):
        with pytest.raises(ConfigError, match=f"{name} {reason}"):
            HttpSettings.from_env({name: value})
    # what fits: the cap, and the batch asyncio accepts at once (four of them in flight at most)
    assert connection_budget(1 << 20, 1000) == (1000, 2048)
    connections, batch = connection_budget(128, 1000)
    assert connections + 4 * batch <= 128 - 32 and connections >= 1
