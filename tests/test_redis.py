"""Replicas on Redis: the journal, the reservations and Late's rate budget shared through a real
redis-server (started here on a free loopback port; .ci/run installs it)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import anyio
import httpx2
import pytest
import redis
from mcp import Client

from conftest import TEST_KEY, make_settings, ok, structured, text
from contract import in_ci
from late_mcp.late.ratelimit import RateLimiter
from late_mcp.late.redis_budget import RedisRateBudget
from late_mcp.safety.redis_journal import RedisJournal, shown_url
from late_mcp.sandbox import SandboxState, create_sandbox_app
from late_mcp.sandbox.state import SEED_ACCOUNT_ACME_TWITTER
from late_mcp.server.build import build_server
from standin import served
from test_stdio import server_env

pytestmark = pytest.mark.anyio
DRAFT = {"content": "Shared by replicas", "accounts": [SEED_ACCOUNT_ACME_TWITTER], "is_draft": True}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None = None, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


@pytest.fixture(scope="module")
def redis_server() -> Iterator[str]:
    exe = shutil.which("redis-server")
    if exe is None:
        if in_ci():
            pytest.fail("redis-server is missing: the README's test command installs it (apt-get)")
        pytest.skip("redis-server is not installed (apt-get install redis-server); Redis tests skipped")
    port = free_port()
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The shared Redis, emptied for this test."""
    with redis.Redis.from_url(redis_server) as client:
        client.flushdb()
    return redis_server


# -- the store: the same decisions as the SQLite journal -------------------------------------------


async def reserve(journal: RedisJournal, owner: str, **extra: object) -> str:
    claim = await journal.reserve(
        "post",
        "fp",
        owner=owner,
        tool="posts_create",
        digest="fp",
        ttl=60,
        within=timedelta(minutes=30),
        **extra,
    )  # type: ignore[arg-type]
    return claim.state


async def test_reserve_commit_release_and_unknown(redis_url: str) -> None:
    journal = RedisJournal(redis_url)
    try:
        await journal.check()
        assert await reserve(journal, "a") == "mine"
        assert await reserve(journal, "b") == "busy"
        await journal.release("post", "fp", owner="a", unknown=True)
        assert await reserve(journal, "b") == "unknown"
        taken = await journal.reserve(
            "post",
            "fp",
            owner="b",
            tool="posts_create",
            digest="fp",
            ttl=60,
            within=timedelta(minutes=30),
            take_unknown=True,
        )
        assert taken.state == "mine" and taken.suspect and taken.owner == "a"  # the same write goes on
        await journal.commit(
            "post", "fp", owner=taken.owner, tool="posts_create", digest="fp", result="post-1"
        )
        done = await journal.reserve(
            "post", "fp", owner="c", tool="posts_create", digest="fp", ttl=60, within=timedelta(minutes=30)
        )
        assert (done.state, done.result) == ("done", "post-1")
        again = await journal.reserve(
            "post",
            "fp",
            owner="c",
            tool="posts_create",
            digest="fp",
            ttl=60,
            within=timedelta(minutes=30),
            forget="post-1",
        )
        assert again.state == "mine"  # the post was deleted since: the guard forgets it
        await journal.release("post", "fp", owner="c")
        assert await reserve(journal, "d") == "mine"
    finally:
        await journal.aclose()


async def test_one_reservation_wins_across_replicas(redis_url: str) -> None:
    replicas = [RedisJournal(redis_url) for _ in range(4)]
    states: list[str] = []

    async def one(n: int) -> None:
        states.append(await reserve(replicas[n % 4], f"owner-{n}"))

    try:
        async with anyio.create_task_group() as group:
            for n in range(20):
                group.start_soon(one, n)
    finally:
        for journal in replicas:
            await journal.aclose()
    assert sorted(states) == ["busy"] * 19 + ["mine"]


def test_the_url_is_shown_without_its_password() -> None:
    assert shown_url("redis://user:s3cret@cache:6380/2") == "redis://user@cache:6380/2"
    assert shown_url("redis://localhost:6379/0") == "redis://localhost:6379/0"


# -- servers sharing one Redis ---------------------------------------------------------------------


async def test_two_servers_on_one_redis_make_one_post_and_share_the_journal(redis_url: str) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    state: SandboxState = app.state.late
    servers = [
        build_server(make_settings(redis_url=redis_url), transport=httpx2.ASGITransport(app=app))
        for _ in range(2)
    ]
    async with Client(servers[0], mode="legacy") as first, Client(servers[1], mode="legacy") as second:
        results = []

        async def create(client: Client) -> None:
            results.append(await client.call_tool("posts_create", DRAFT))

        async with anyio.create_task_group() as group:
            for n in range(10):
                group.start_soon(create, (first, second)[n % 2])
        assert sum(1 for p in state.posts.values() if p["content"] == DRAFT["content"]) == 1
        assert all(not r.is_error for r in results), [text(r) for r in results if r.is_error]
        await ok(first, "profiles_create", name="Made on replica one")
        await ok(second, "profiles_create", name="Made on replica two")
        for client in (first, second):
            journal = await ok(client, "journal_recent", tool_name="profiles_create")
            assert len(journal["entries"]) == 2 and journal["journal"] == redis_url


def start_replica(
    port: int, base: str, redis_url: str, journal: Path, *, stateless: bool = False
) -> subprocess.Popen[bytes]:
    """A late-mcp HTTP process on `port`, sharing `redis_url` with its other replicas."""
    env = server_env(
        LATE_API_KEY=TEST_KEY,
        LATE_BASE_URL=base,
        LATE_MCP_REDIS_URL=redis_url,
        LATE_TOOLSETS="all",
        LATE_JOURNAL_PATH=str(journal),
    )
    command = [sys.executable, "-m", "late_mcp", "--transport", "http", "--port", str(port)]
    command += ["--stateless"] if stateless else []
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def test_two_replica_processes_receive_the_same_create_and_make_one_post(
    redis_url: str, http_sandbox_app: tuple[str, SandboxState], tmp_path: Path
) -> None:
    base, state = http_sandbox_app
    ports = [free_port(), free_port()]
    procs = [start_replica(port, base, redis_url, tmp_path / f"j{n}.sqlite3") for n, port in enumerate(ports)]
    try:
        for port, proc in zip(ports, procs, strict=True):
            await anyio.to_thread.run_sync(wait_for_port, port, proc)
        async with (
            Client(f"http://127.0.0.1:{ports[0]}/mcp") as first,
            Client(f"http://127.0.0.1:{ports[1]}/mcp") as second,
        ):
            results = []

            async def create(client: Client) -> None:
                results.append(await client.call_tool("posts_create", DRAFT))

            async with anyio.create_task_group() as group:
                group.start_soon(create, first)
                group.start_soon(create, second)
            await ok(second, "profiles_create", name="From replica two")
            seen = await ok(first, "journal_recent")
        assert sum(1 for p in state.posts.values() if p["content"] == DRAFT["content"]) == 1
        assert all(not r.is_error for r in results), [text(r) for r in results if r.is_error]
        assert {e["tool"] for e in seen["entries"]} == {"posts_create", "profiles_create"}
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
            assert proc.stderr is not None
            assert TEST_KEY.encode() not in proc.stderr.read()


@pytest.fixture
def http_sandbox_app() -> Iterator[tuple[str, SandboxState]]:
    app = create_sandbox_app(api_key=TEST_KEY)
    with served(app) as base:
        yield base + "/api", app.state.late


async def test_a_redis_that_is_down_refuses_writes_and_keeps_reads() -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    app = create_sandbox_app(api_key=TEST_KEY)
    server = build_server(make_settings(redis_url=down), transport=httpx2.ASGITransport(app=app))
    async with Client(server, mode="legacy") as client:
        refused = await client.call_tool("profiles_create", {"name": "Nope"})
        assert refused.is_error and structured(refused)["error"]["kind"] == "journal_unavailable"
        assert "LATE_MCP_REDIS_URL" in text(refused)
        await ok(client, "profiles_list")
    assert not any(p["name"] == "Nope" for p in app.state.late.profiles.values())


# -- Late's rate budget ---------------------------------------------------------------------------


async def test_replicas_share_what_is_left_of_the_rate_window(redis_url: str) -> None:
    one, two = RedisRateBudget(redis_url), RedisRateBudget(redis_url)
    try:
        limiter = RateLimiter(shared=two)
        await RateLimiter(shared=one).share(
            {"X-RateLimit-Remaining": "2", "X-RateLimit-Reset": str(int(time.time()) + 30)}
        )
        assert await two.take() == 0 and await one.take() == 0  # the two requests that were left
        wait = await two.take()
        assert 0 < wait <= 31  # nothing left: wait for the reset Late announced
        await one.learn(5, time.time() + 30)  # a new window
        await limiter.acquire()
        assert limiter.waited == 0
    finally:
        await one.aclose()
        await two.aclose()


def test_the_redis_url_is_checked_without_showing_it() -> None:
    from late_mcp.config.settings import ConfigError, Settings

    env = {"LATE_API_KEY": TEST_KEY, "LATE_MCP_REDIS_URL": "http://user:hunter2@cache"}
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env)
    assert "LATE_MCP_REDIS_URL" in str(refused.value) and "hunter2" not in str(refused.value)
    assert (
        Settings.from_env({**env, "LATE_MCP_REDIS_URL": "redis://cache:6379/0"}).redis_url
        == "redis://cache:6379/0"
    )
    assert "redis" not in repr(Settings.from_env({**env, "LATE_MCP_REDIS_URL": "redis://cache:6379/0"}))


# -- scoped tokens shared by replicas ---------------------------------------------------------------


def test_tokens_created_on_one_replica_work_and_revoke_on_every_replica(
    redis_url: str, tmp_path: Path
) -> None:
    from late_mcp.auth.redis_tokens import RedisTokenStore

    env = server_env(LATE_MCP_REDIS_URL=redis_url, LATE_JOURNAL_PATH=str(tmp_path / "j.sqlite3"))
    command = [sys.executable, "-m", "late_mcp", "token"]
    created = subprocess.run(
        [*command, "create", "acme-team", "--profile", "p-acme", "--read-only"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    token = created.stdout.strip()
    assert token.startswith("lmcp_") and len(created.stdout.splitlines()) == 1
    replica_one, replica_two = RedisTokenStore(redis_url), RedisTokenStore(redis_url)
    try:
        seen = replica_two.lookup(token)
        assert seen is not None and seen.profiles == frozenset({"p-acme"}) and seen.read_only
        assert replica_one.lookup("lmcp_" + "x" * 43) is None
        with redis.Redis.from_url(redis_url, decode_responses=True) as raw:
            assert token not in str(raw.hgetall("late-mcp:tokens"))  # only the hash is stored
        subprocess.run(
            [*command, "revoke", "acme-team"], env=env, capture_output=True, timeout=60, check=True
        )
        assert replica_one.lookup(token) is None and replica_two.lookup(token) is None
        assert replica_two.has_tokens()  # a revoked last token keeps authentication on
        listed = subprocess.run([*command, "list"], env=env, capture_output=True, text=True, timeout=60)
        assert "acme-team" in listed.stdout and token not in listed.stdout
    finally:
        replica_one.close()
        replica_two.close()
