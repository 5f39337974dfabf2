"""Load: many concurrent MCP sessions over streamable HTTP against late-mcp processes.

    .venv/bin/python benchmarks/http_load.py --suite        # the four runs below; writes results/http_load.md
    .venv/bin/python benchmarks/http_load.py [--sessions 50] [--calls 40] [--rounds 3] [--think 1.0]
        [--stateless] [--replicas 2 --redis start|redis://127.0.0.1:6379/0] [--auth store|shared|oauth]

Starts the Late stand-in (the sandbox) on a local HTTP port and `late-mcp --transport http` as a
separate process pointed at it (a real key check, a real journal file, a bearer token: by default
one from the token store, looked up on every request as scoped and OAuth tokens are; `--auth
shared` uses LATE_MCP_TOKEN, compared in memory; `--auth oauth` an OAuth access token from a grant
in the OAuth store, with OAuth sign-in served), then runs
`--sessions` SDK clients at once, each making `--calls` mixed tool calls (mostly reads, some draft
posts). `--think` is the mean pause (exponentially distributed) a session takes between an answer
and its next call, as an assistant does while the model writes; 0 sends calls back to back, which
measures what the machine can carry rather than what a user waits. With --replicas, that many
server processes share the load (sessions spread over them, as a load balancer would) and, with
--redis, one Redis for journal, reservations and tokens (`start`: a throw-away redis-server).
Reports, for the warm-up and for each round on its own, throughput, p50/p99 latency (all calls,
reads, writes), errors (with the first error text per tool), CPU per process and the servers'
resident memory. Not a test: it measures.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

# Letters no Late id holds: the key scrubber redacts any long run of the key from what Late sends.
KEY = "sk_bench_" + "qwxyzkv" * 6
TOKEN = "bench-token-" + "z" * 30
ACME = "64a000000000000000000001"
ACME_TWITTER = "64b000000000000000000001"
READS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("profiles_list", {}),
    ("accounts_list", {"profile_id": ACME}),
    ("posts_list", {"profile_id": ACME, "limit": 5}),
    ("queue_preview", {"profile_id": ACME}),
    ("invites_list", {}),
    ("usage_stats", {}),
    ("time_now", {}),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stand_in(port: int) -> None:
    """The sandbox over HTTP, with a rate limit that never bites (we measure late-mcp, not limits)."""
    import uvicorn

    from late_mcp.sandbox import SandboxState, create_sandbox_app

    app = create_sandbox_app(api_key=KEY, state=SandboxState(rate_limit=10_000_000))
    gc.collect()
    gc.freeze()  # Late is not a Python process: the stand-in's collection pauses are not ours
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx2.get(url, timeout=1).status_code < 500:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else float("nan")


class AllOpen:
    """Calls start once every session of the round is open: the round measures 50 open sessions
    at work, and opening them (50 initialize handshakes at once) is reported on its own."""

    def __init__(self, sessions: int) -> None:
        self.waiting = sessions
        self.event = anyio.Event()
        self.at = 0.0

    def arrived(self) -> None:
        self.waiting -= 1
        if self.waiting == 0:
            self.at = time.perf_counter()
            self.event.set()


async def session(
    url: str, token: str, calls: int, seed: int, think: float, out: dict[str, Any], all_open: AllOpen
) -> None:
    rng = random.Random(seed)
    arrived = False
    # Plain HTTP: verify=False skips loading the CA bundle, which blocks this loop ~50 ms per client.
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60, verify=False)
    try:
        opening = time.perf_counter()
        async with Client(streamable_http_client(url, http_client=http)) as client:  # type: ignore[arg-type]
            out["opens"].append(time.perf_counter() - opening)
            arrived = True
            all_open.arrived()
            await all_open.event.wait()
            if think:
                await anyio.sleep(rng.uniform(0, think))  # not all in the same millisecond
            for n in range(calls):
                if rng.random() < 0.1:
                    tool, args = (
                        "posts_create",
                        {
                            "accounts": [ACME_TWITTER],
                            "content": f"Bench draft {seed}-{n}",
                            "is_draft": True,
                        },
                    )
                else:
                    tool, args = rng.choice(READS)
                started = time.perf_counter()
                try:
                    result = await client.call_tool(tool, args)
                    failed = result.is_error
                    if failed:
                        out["why"].setdefault(tool, _text(result)[:300])
                except Exception as exc:
                    failed, tool = True, f"{tool}:{type(exc).__name__}"
                elapsed = time.perf_counter() - started
                (out["reads"] if tool in dict(READS) else out["writes"]).append(elapsed)
                if failed:
                    out["errors"][tool] += 1
                if think:
                    await anyio.sleep(rng.expovariate(1 / think))
    except Exception as exc:
        out["errors"][f"session:{type(exc).__name__}"] += 1
    finally:
        if not arrived:
            all_open.arrived()
        await http.aclose()


async def round_of(
    urls: list[str], token: str, sessions: int, calls: int, seed: int, think: float
) -> dict[str, Any]:
    """`sessions` sessions at once, spread over the replicas' URLs as a load balancer would."""
    out: dict[str, Any] = {"reads": [], "writes": [], "opens": [], "errors": Counter(), "why": {}}
    all_open = AllOpen(sessions)
    # The load generator's own garbage collections would stall all 50 sessions at once and be
    # charged to the server: none during a round, one after it.
    gc.disable()
    async with anyio.create_task_group() as tg:
        for n in range(sessions):
            tg.start_soon(session, urls[n % len(urls)], token, calls, seed * 1000 + n, think, out, all_open)
    out["seconds"] = time.perf_counter() - all_open.at
    gc.enable()
    gc.collect()
    return out


def _text(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def report(name: str, out: dict[str, Any]) -> str:
    every = out["reads"] + out["writes"]
    return (
        f"{name}: {len(every)} calls in {out['seconds']:.2f}s = {len(every) / out['seconds']:.0f} calls/s; "
        f"p50 {pct(every, 50):.1f} ms, p99 {pct(every, 99):.1f} ms; "
        f"reads p50 {pct(out['reads'], 50):.1f} ms, p99 {pct(out['reads'], 99):.1f} ms; "
        f"writes p50 {pct(out['writes'], 50):.1f} ms, p99 {pct(out['writes'], 99):.1f} ms "
        f"(mean {statistics.fmean(every) * 1000:.1f} ms); errors {sum(out['errors'].values())} "
        f"{dict(out['errors']) or ''}; opening all sessions at once: p50 {pct(out['opens'], 50):.1f} ms, "
        f"p99 {pct(out['opens'], 99):.1f} ms"
        + "".join(f"; first {tool} error: {why!r}" for tool, why in out.get("why", {}).items())
    )


def start_redis(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A throw-away redis-server on a free loopback port (the replicas' shared state)."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    raise SystemExit("redis-server did not come up")


def oauth_token(env: dict[str, str]) -> str:
    """An access token for a full-access grant in the OAuth store the servers will open, bound to
    LATE_MCP_PUBLIC_URL/mcp (benchmarks/oauth_grant.py)."""
    from late_mcp.auth.stores import open_oauth_store
    from late_mcp.config.http import HttpSettings
    from oauth_grant import access_token

    store = open_oauth_store(HttpSettings.from_env(env), env)
    return access_token(
        store, f"{env['LATE_MCP_PUBLIC_URL']}/mcp", user="bench", application="Load benchmark"
    )


def run(args: argparse.Namespace) -> list[str]:
    """One configuration: start the stand-in and the replicas, a warm-up round, measured rounds."""
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    late_port, mcp_ports = free_port(), [free_port() for _ in range(args.replicas)]
    work = Path(tempfile.mkdtemp(prefix="late-mcp-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}
    env.update(
        LATE_API_KEY=KEY,
        LATE_BASE_URL=f"http://127.0.0.1:{late_port}/api",
        LATE_JOURNAL_PATH=str(work / "journal.sqlite3"),
        LATE_MCP_TOKEN_STORE=str(work / "tokens.sqlite3"),
        LATE_MCP_MAX_SESSIONS=str(max(100, 2 * args.sessions)),
        LATE_CONFIRM="off",
    )
    redis = None
    if args.redis:
        redis, env["LATE_MCP_REDIS_URL"] = start_redis(work) if args.redis == "start" else (None, args.redis)
    if args.auth == "shared":
        env["LATE_MCP_TOKEN"] = token = TOKEN
    elif args.auth == "oauth":  # an OAuth access token, from a grant made as the consent page makes it
        env["LATE_MCP_PUBLIC_URL"] = f"http://127.0.0.1:{mcp_ports[0]}"
        token = oauth_token(env)
    else:  # a token from the store: the look-up every request makes, as scoped and OAuth tokens do
        made = subprocess.run(
            [sys.executable, "-m", "late_mcp", "token", "create", "bench"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        token = made.stdout.strip()
    late = subprocess.Popen([sys.executable, __file__, "--stand-in", str(late_port)], env=env)
    servers = []
    for port in mcp_ports:
        command = [sys.executable, "-m", "late_mcp", "--transport", "http", "--port", str(port)]
        servers.append(subprocess.Popen(command + (["--stateless"] if args.stateless else []), env=env))

    def server_rss() -> str:
        return " + ".join(f"{rss_mb(server.pid):.1f}" for server in servers) + " MB"

    try:
        wait_healthy(f"http://127.0.0.1:{late_port}/api/v1/usage-stats")
        for port in mcp_ports:
            wait_healthy(f"http://127.0.0.1:{port}/healthz")
        urls = [f"http://127.0.0.1:{port}/mcp" for port in mcp_ports]
        mode = "stateless" if args.stateless else "stateful"
        shared = f", sharing {'Redis' if args.redis else 'nothing'}" if args.replicas > 1 else ""
        pace = f"pausing {args.think:g} s on average between calls" if args.think else "back to back"
        who = {
            "shared": "LATE_MCP_TOKEN",
            "store": "a token from the store (looked up per request)",
            "oauth": "an OAuth access token (looked up per request)",
        }[args.auth]
        say(
            f"**{args.sessions} sessions, {pace}; {mode} streamable HTTP on {args.replicas} "
            f"process(es){shared}; {args.calls} calls per session per round; {who}**"
        )
        say(f"- server RSS before: {server_rss()}")
        say(
            "- "
            + report("warm-up", anyio.run(round_of, urls, token, args.sessions, args.calls, 0, args.think))
        )
        say(f"- server RSS after warm-up: {server_rss()}")
        measured: dict[str, Any] = {
            "reads": [],
            "writes": [],
            "opens": [],
            "errors": Counter(),
            "seconds": 0.0,
        }
        for n in range(1, args.rounds + 1):
            cpu = {f"server{i}": cpu_seconds(p.pid) for i, p in enumerate(servers)}
            cpu["stand-in"] = cpu_seconds(late.pid)
            own = time.process_time()
            out = anyio.run(round_of, urls, token, args.sessions, args.calls, n, args.think)
            for key in ("reads", "writes", "opens", "errors", "seconds"):
                measured[key] += out[key]
            measured["why"] = out["why"] | measured.get("why", {})
            pids = {f"server{i}": p.pid for i, p in enumerate(servers)} | {"stand-in": late.pid}
            used = {name: cpu_seconds(pid) - cpu[name] for name, pid in pids.items()}
            used["clients"] = time.process_time() - own
            shares = ", ".join(f"{name} {sec / out['seconds']:.0%}" for name, sec in used.items())
            say("- " + report(f"round {n}", out))
            say(
                f"  - server RSS after round {n}: {server_rss()}; CPU (share of one core): "
                f"{shares}; machine load {os.getloadavg()[0]:.1f}"
            )
        say("- " + report(f"all {args.rounds} measured rounds", measured))
    finally:
        for proc in (*servers, late, *([redis] if redis else [])):
            proc.terminate()
            proc.wait(timeout=15)
        shutil.rmtree(work, ignore_errors=True)
    return lines


# What the issue asks to measure: one process, then two stateless replicas sharing Redis; each
# at an assistant's pace (the goal) and back to back (the capacity of this machine).
SUITE = (
    {"think": 1.0},
    {"think": 0.0},
    {"think": 1.0, "stateless": True, "replicas": 2, "redis": "start"},
    {"think": 0.0, "stateless": True, "replicas": 2, "redis": "start"},
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--calls", type=int, default=40, help="tool calls per session per round")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds after the warm-up")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds a session pauses between calls (exponential), as an assistant thinks",
    )
    parser.add_argument("--stateless", action="store_true")
    parser.add_argument("--replicas", type=int, default=1, help="server processes, sessions spread over them")
    parser.add_argument(
        "--redis", help="LATE_MCP_REDIS_URL the replicas share, or `start` for a throw-away redis-server"
    )
    parser.add_argument(
        "--auth",
        choices=("store", "shared", "oauth"),
        default="store",
        help="store: a token from `late-mcp token create` (looked up per request, as scoped and OAuth "
        "tokens are); shared: LATE_MCP_TOKEN (compared in memory); oauth: an OAuth access token",
    )
    parser.add_argument("--suite", action="store_true", help="the four configurations; writes --out")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="the figures file (--suite: results/http_load.md; one run: only when given)",
    )
    parser.add_argument("--stand-in", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stand_in:
        stand_in(args.stand_in)
        return
    gc.freeze()  # what imports built: out of the collector's sight (see round_of)
    command = " ".join(["python", "benchmarks/http_load.py", *sys.argv[1:]])
    if not args.suite:
        lines = run(args)
        if args.out is not None:
            args.out.write_text("\n".join([*heading(command), *lines]) + "\n", encoding="utf-8")
            print(f"written to {args.out}")
        return
    lines = heading(command)
    for config in SUITE:
        lines += run(
            argparse.Namespace(**{**vars(args), "stateless": False, "replicas": 1, "redis": None} | config)
        )
        lines.append("")
    out = args.out or Path(__file__).resolve().parent / "results" / "http_load.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written to {out}")


def heading(command: str) -> list[str]:
    """The figures file's title and the machine they were measured on."""
    return [
        "# late-mcp under load (streamable HTTP)",
        "",
        f"`{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}; "
        f"uvloop {'on' if importlib.util.find_spec('uvloop') else 'off'}, "
        f"httptools {'on' if importlib.util.find_spec('httptools') else 'off'}. "
        "The stand-in, the servers, Redis and the load generator share this machine's CPUs "
        f"(load average at the start: {os.getloadavg()[0]:.1f}).",
        "",
    ]


if __name__ == "__main__":
    main()
