"""Load: many concurrent MCP sessions over streamable HTTP against late-mcp processes.

    .venv/bin/python benchmarks/http_load.py [--sessions 50] [--calls 40] [--stateless]
        [--replicas 2 --redis redis://127.0.0.1:6379/0]

Starts the Late stand-in (the sandbox) on a local HTTP port and `late-mcp --transport http` as a
separate process pointed at it (a real key check, a real journal file, a bearer token), then runs
`--sessions` SDK clients at once, each making `--calls` mixed tool calls (mostly reads, some draft
posts). With --replicas, that many server processes share the load (sessions spread over them,
as a load balancer would) and, with --redis, one Redis for journal, reservations and tokens.
Reports throughput, p50/p99 latency (all calls and reads only), errors, and the server's
resident memory before the run, after a warm-up round and at the end. Not a test: it measures.
"""

from __future__ import annotations

import argparse
import os
import random
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

KEY = "sk_bench_" + "0" * 40
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


async def session(url: str, calls: int, seed: int, out: dict[str, Any]) -> None:
    rng = random.Random(seed)
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    try:
        async with Client(streamable_http_client(url, http_client=http)) as client:  # type: ignore[arg-type]
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
                except Exception as exc:
                    failed, tool = True, f"{tool}:{type(exc).__name__}"
                elapsed = time.perf_counter() - started
                (out["reads"] if tool in dict(READS) else out["writes"]).append(elapsed)
                if failed:
                    out["errors"][tool] += 1
    except Exception as exc:
        out["errors"][f"session:{type(exc).__name__}"] += 1
    finally:
        await http.aclose()


async def round_of(urls: list[str], sessions: int, calls: int, seed: int) -> dict[str, Any]:
    """`sessions` sessions at once, spread over the replicas' URLs as a load balancer would."""
    out: dict[str, Any] = {"reads": [], "writes": [], "errors": Counter()}
    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for n in range(sessions):
            tg.start_soon(session, urls[n % len(urls)], calls, seed * 1000 + n, out)
    out["seconds"] = time.perf_counter() - started
    return out


def report(name: str, out: dict[str, Any]) -> None:
    every = out["reads"] + out["writes"]
    print(
        f"{name}: {len(every)} calls in {out['seconds']:.2f}s = {len(every) / out['seconds']:.0f} calls/s; "
        f"p50 {pct(every, 50):.1f} ms, p99 {pct(every, 99):.1f} ms; "
        f"reads p50 {pct(out['reads'], 50):.1f} ms, p99 {pct(out['reads'], 99):.1f} ms; "
        f"writes p50 {pct(out['writes'], 50):.1f} ms, p99 {pct(out['writes'], 99):.1f} ms "
        f"(mean {statistics.fmean(every) * 1000:.1f} ms); errors {sum(out['errors'].values())} "
        f"{dict(out['errors']) or ''}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--calls", type=int, default=40, help="tool calls per session per round")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds after the warm-up")
    parser.add_argument("--stateless", action="store_true")
    parser.add_argument("--replicas", type=int, default=1, help="server processes, sessions spread over them")
    parser.add_argument("--redis", help="LATE_MCP_REDIS_URL the replicas share (else one SQLite journal)")
    parser.add_argument("--stand-in", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stand_in:
        stand_in(args.stand_in)
        return
    late_port, mcp_ports = free_port(), [free_port() for _ in range(args.replicas)]
    work = Path(tempfile.mkdtemp(prefix="late-mcp-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}
    env.update(
        LATE_API_KEY=KEY,
        LATE_BASE_URL=f"http://127.0.0.1:{late_port}/api",
        LATE_JOURNAL_PATH=str(work / "journal.sqlite3"),
        LATE_MCP_TOKEN=TOKEN,
        LATE_MCP_TOKEN_STORE=str(work / "tokens.sqlite3"),
        LATE_MCP_MAX_SESSIONS=str(max(100, 2 * args.sessions)),
        LATE_CONFIRM="off",
    )
    if args.redis:
        env["LATE_MCP_REDIS_URL"] = args.redis
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
        print(
            f"late-mcp {mode} streamable HTTP on {args.replicas} process(es){shared}, "
            f"{args.sessions} concurrent sessions x {args.calls} calls"
        )
        print(f"server RSS before: {server_rss()}")
        report("warm-up", anyio.run(round_of, urls, args.sessions, args.calls, 0))
        print(f"server RSS after warm-up: {server_rss()}")
        for n in range(1, args.rounds + 1):
            cpu = {f"server{i}": cpu_seconds(p.pid) for i, p in enumerate(servers)}
            cpu["stand-in"] = cpu_seconds(late.pid)
            own = time.process_time()
            out = anyio.run(round_of, urls, args.sessions, args.calls, n)
            report(f"round {n}", out)
            pids = {f"server{i}": p.pid for i, p in enumerate(servers)} | {"stand-in": late.pid}
            used = {name: cpu_seconds(pid) - cpu[name] for name, pid in pids.items()}
            used["clients"] = time.process_time() - own
            shares = ", ".join(f"{name} {sec / out['seconds']:.0%}" for name, sec in used.items())
            print(
                f"server RSS after round {n}: {server_rss()}; CPU (share of one core): "
                f"{shares}; machine load {os.getloadavg()[0]:.1f}"
            )
    finally:
        for proc in (*servers, late):
            proc.terminate()
            proc.wait(timeout=15)


if __name__ == "__main__":
    main()
