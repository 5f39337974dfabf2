"""The measurements behind `python -m benchmarks`: late-mcp and the floor, same stand-in, same run.

Both servers run as real processes over stdio, driven by a bare JSON-RPC client
(stdio_session.py), and talk HTTP to the sandbox served by uvicorn on loopback (standin.py),
directly or through a proxy that delays each new connection (delay_proxy.py).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2

from benchmarks.cold_start import with_bytecode_cache
from benchmarks.stdio_session import Exchange, ServerFailed, StdioSession

HERE = Path(__file__).resolve().parent
BENCH_KEY = "sk_" + "be7c4" * 12 + "0000"
MIB = 1024 * 1024
# The first bytes of an MP4 (an ftyp box): late-mcp uploads only files whose content is media.
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


@dataclass
class Config:
    runs: int = 10  # cold starts per server
    calls: int = 1000  # direct calls per server (p50/p99 and RSS after them)
    proxy_calls: int = 500  # calls per server through the delaying proxy
    delay_ms: float = 60.0
    upload_bytes: int = 1024 * MIB
    upload_rounds: int = 3  # best of, per contender (curl included), taking turns


@dataclass
class Side:
    """What one server measured."""

    cold_starts: list[float] = field(default_factory=list)
    cold_start_cpu: list[float] = field(default_factory=list)  # server CPU seconds until answered
    tools_list_bytes: int = 0
    toolsets: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    proxy_latencies: list[float] = field(default_factory=list)
    rss_start: int = 0
    rss_after_calls: int = 0
    cpu_per_call: float = 0.0  # seconds of server CPU per call: what load on the machine cannot inflate
    upload_seconds: float = 0.0
    upload_growth: int = 0


@dataclass
class Results:
    config: Config
    late: Side = field(default_factory=Side)
    floor: Side = field(default_factory=Side)
    curl_seconds: float = 0.0
    workflow: list[tuple[str, int]] = field(default_factory=list)
    peak_reset: bool = True
    seconds: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)  # the machine's 1-minute load average at start and end


def server_env(base_url: str, journal: Path) -> dict[str, str]:
    """The environment of a server under test; its bytecode is cached in a folder beside `journal`."""
    env = with_bytecode_cache(
        {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}, journal.parent / "bytecode"
    )
    env.update(LATE_API_KEY=BENCH_KEY, LATE_BASE_URL=base_url, LATE_JOURNAL_PATH=str(journal))
    env["LATE_MEDIA_DIRS"] = tempfile.gettempdir()  # where media_file() puts the files it uploads
    return env


COMMANDS = {
    "late": [sys.executable, "-m", "late_mcp"],
    "floor": [sys.executable, str(HERE / "minimal_server.py")],
}


@contextmanager
def helper(module: str, *args: str) -> Iterator[int]:
    """Run `python -m benchmarks.<module>` (which prints its port first) for the duration."""
    proc = subprocess.Popen(
        [sys.executable, "-m", f"benchmarks.{module}", *args], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            raise ServerFailed(f"benchmarks.{module} did not start (printed {line!r})")
        yield int(line)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def session(name: str, env: dict[str, str]) -> Iterator[tuple[StdioSession, Exchange]]:
    with tempfile.TemporaryFile() as stderr:
        server = StdioSession(COMMANDS[name], env, stderr)
        try:
            yield server, server.initialize()
        finally:
            server.close()


def cold_start(name: str, env: dict[str, str]) -> tuple[float, float, int]:
    """Seconds from spawn to the tools/list answer, the server's CPU seconds by then (what other
    work on the machine cannot inflate), and that answer's result size in bytes."""
    with session(name, env) as (server, tools):
        seconds = time.perf_counter() - server.started
        cpu = server.cpu_seconds()
        return seconds, cpu, len(json.dumps(tools.result, separators=(",", ":")).encode())


def toolset_bytes(tools_result: dict[str, Any]) -> dict[str, int]:
    """tools/list bytes per toolset (a tool's domain), as each tool's share of the answer."""
    from late_mcp.tools import ALL_TOOLS

    domain = {spec.name: spec.domain for spec in ALL_TOOLS}
    sizes: dict[str, int] = {}
    for tool in tools_result["tools"]:
        key = domain.get(tool["name"], "other")
        sizes[key] = sizes.get(key, 0) + len(json.dumps(tool, separators=(",", ":")).encode())
    return dict(sorted(sizes.items(), key=lambda item: -item[1]))


def interleaved_calls(servers: list[StdioSession], count: int) -> list[list[float]]:
    """`count` profiles_list calls on each server, taking turns, so a busy moment on the machine
    falls on both alike; the seconds of each call, per server."""
    times: list[list[float]] = [[] for _ in servers]
    for _ in range(count):
        for server, seconds in zip(servers, times, strict=True):
            seconds.append(server.call("profiles_list", {}).seconds)
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextmanager
def media_file(size: int, suffix: str = ".mp4", head: bytes = MP4_HEAD) -> Iterator[Path]:
    """A sparse file in tmp that starts like real media; deleted afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="late-mcp-bench-"))
    path = folder / f"bench{suffix}"
    try:
        with path.open("wb") as handle:
            handle.write(head)
            if head == MP4_HEAD:  # then one mdat box over the rest, as a real file has
                handle.write((size - len(head)).to_bytes(4, "big") + b"mdat")
            handle.truncate(size)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def upload_arguments(tools_result: dict[str, Any], path: Path) -> dict[str, Any]:
    """media_upload_file's arguments, whether it takes one `path` or several `paths`."""
    for tool in tools_result["tools"]:
        if tool["name"] == "media_upload_file" and "paths" in tool["inputSchema"].get("properties", {}):
            return {"paths": [str(path)]}
    return {"path": str(path)}


def curl_upload(base_url: str, path: Path) -> float:
    """Seconds for `curl -T` to PUT the file to a fresh presigned URL of the same stand-in."""
    size = path.stat().st_size
    link = httpx2.post(
        f"{base_url}/v1/media/presign",
        json={"filename": path.name, "contentType": "video/mp4", "size": size},
        headers={"Authorization": f"Bearer {BENCH_KEY}"},
    ).json()
    start = time.perf_counter()
    subprocess.run(
        ["curl", "-sS", "-f", "-T", str(path), "-H", "Content-Type: video/mp4", "-H", "Expect:",
         "-o", os.devnull, link["uploadUrl"]],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start


def measure_uploads(
    base_url: str, servers: dict[str, tuple[StdioSession, Exchange]], path: Path, rounds: int
) -> tuple[float, dict[str, tuple[float, int]], bool]:
    """Best of `rounds` for curl and each server, taking turns; per server also the largest peak
    RSS growth over the RSS just before an upload. Returns curl's seconds, per server (seconds,
    growth), and whether the kernel let the peak be reset before each upload."""
    curl = float("inf")
    best = {name: (float("inf"), 0) for name in servers}
    reset = True
    for _ in range(rounds):
        curl = min(curl, curl_upload(base_url, path))
        for name, (server, tools) in servers.items():
            before = server.rss()
            reset = server.reset_peak() and reset
            seconds = server.call("media_upload_file", upload_arguments(tools.result, path)).seconds
            growth = server.peak() - before
            best[name] = (min(best[name][0], seconds), max(best[name][1], growth))
    return curl, best, reset


def structured(result: dict[str, Any]) -> dict[str, Any]:
    """A tools/call result's data: the JSON on its text's last line (late-mcp sends it once)."""
    data = json.loads(result["content"][0]["text"].rsplit("\n", 1)[1])
    assert isinstance(data, dict)
    return data


def agency_workflow(base_url: str, journal: Path) -> list[tuple[str, int]]:
    """The seed workflow: profiles_create -> invites_create (six platforms, one call) -> the client
    connects two accounts -> accounts_list -> media_upload_file -> posts_create to both accounts at
    09:00 in the client's zone: the bytes of each request and its answer, as a client sees them."""
    steps: list[tuple[str, int]] = []
    platforms = ["instagram", "facebook", "linkedin", "tiktok", "twitter", "youtube"]
    with (
        session("late", server_env(base_url, journal)) as (server, tools),
        media_file(256 * 1024, ".jpg", JPEG_HEAD) as image,
    ):
        created = server.call("profiles_create", {"name": "Bakery Bench"})
        steps.append(("profiles_create", created.bytes))
        profile = structured(created.result)["profile"]["id"]
        invites = server.call("invites_create", {"profile_id": profile, "platforms": platforms})
        steps.append(("invites_create (6 platforms)", invites.bytes))
        # The client opens two of the links and connects those accounts (not something the model reads).
        for invite in structured(invites.result)["invites"][:2]:
            httpx2.get(invite["invite_url"], follow_redirects=True)
        accounts = server.call("accounts_list", {"profile_id": profile})
        steps.append(("accounts_list", accounts.bytes))
        uploaded = server.call("media_upload_file", upload_arguments(tools.result, image))
        steps.append(("media_upload_file", uploaded.bytes))
        data = structured(uploaded.result)
        url = data["public_url"] if "public_url" in data else data["uploads"][0]["public_url"]
        day = (datetime.now(UTC) + timedelta(days=2)).date()
        post = {
            "content": "Fresh sourdough every morning from 7. Come early!",
            "accounts": platforms[:2],
            "profile_id": profile,
            "scheduled_for": f"{day.isoformat()}T09:00",
            "timezone": "Europe/Amsterdam",
            "media_urls": [url],
        }
        created_post = server.call("posts_create", post)
        steps.append(("posts_create (2 accounts, 09:00 Europe/Amsterdam)", created_post.bytes))
        token = structured(created_post.result).get("confirm_token")
        if token:
            confirmed = server.call("posts_create", {**post, "confirm": token})
            steps.append(("posts_create (confirm)", confirmed.bytes))
    return steps


def run(config: Config, log: Any = print) -> Results:
    """Everything, in one go; `log` gets a line per stage."""
    started = time.perf_counter()
    results = Results(config)
    first_load = os.getloadavg()[0]
    sides = {"late": results.late, "floor": results.floor}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="late-mcp-bench-")))
        port = stack.enter_context(helper("standin", "--api-key", BENCH_KEY))
        base = f"http://127.0.0.1:{port}/api"
        env = {name: server_env(base, tmp / f"{name}.sqlite3") for name in sides}
        log(f"stand-in on {base}; cold start x{config.runs} per server")
        for name in sides:
            cold_start(name, env[name])  # warm the file cache and bytecode
        for _ in range(config.runs):
            for name, side in sides.items():
                seconds, cpu, size = cold_start(name, env[name])
                side.cold_starts.append(seconds)
                side.cold_start_cpu.append(cpu)
                side.tools_list_bytes = size

        log(f"{config.calls} calls per server, then RSS and a {config.upload_bytes // MIB} MiB upload")
        with ExitStack() as running, media_file(config.upload_bytes) as big:
            servers = {name: running.enter_context(session(name, env[name])) for name in sides}
            results.late.toolsets = toolset_bytes(servers["late"][1].result)
            cpu = {}
            for name, side in sides.items():
                side.rss_start = servers[name][0].rss()
                cpu[name] = servers[name][0].cpu_seconds()
            times = interleaved_calls([server for server, _ in servers.values()], config.calls)
            for (name, side), taken in zip(sides.items(), times, strict=True):
                side.latencies = taken
                side.rss_after_calls = servers[name][0].rss()
                side.cpu_per_call = (servers[name][0].cpu_seconds() - cpu[name]) / config.calls
            results.curl_seconds, uploads, results.peak_reset = measure_uploads(
                base, servers, big, config.upload_rounds
            )
            for name, side in sides.items():
                side.upload_seconds, side.upload_growth = uploads[name]

        log(f"{config.proxy_calls} calls per server with {config.delay_ms:g} ms per new connection")
        proxy = stack.enter_context(
            helper("delay_proxy", "--upstream", f"127.0.0.1:{port}", "--delay-ms", str(config.delay_ms))
        )
        far = f"http://127.0.0.1:{proxy}/api"
        with ExitStack() as running:
            servers = {
                name: running.enter_context(session(name, server_env(far, tmp / f"{name}-far.sqlite3")))
                for name in sides
            }
            times = interleaved_calls([server for server, _ in servers.values()], config.proxy_calls)
            for side, taken in zip(sides.values(), times, strict=True):
                side.proxy_latencies = taken

        log("agency workflow")
        results.workflow = agency_workflow(base, tmp / "workflow.sqlite3")
    results.seconds = time.perf_counter() - started
    results.load = (first_load, os.getloadavg()[0])
    return results
