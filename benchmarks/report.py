"""The markdown table `python -m benchmarks` writes: late-mcp beside the floor, targets checked."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from importlib.metadata import version

from benchmarks.harness import MIB, Results, median, percentile

# Targets, each against the floor measured in the same run.
COLD_START_MAX_EXTRA = 0.15  # seconds
P50_MAX_EXTRA = 0.001  # seconds
RSS_MAX_EXTRA = 20 * MIB
UPLOAD_MIN_SHARE_OF_CURL = 0.80
UPLOAD_MAX_GROWTH = 32 * MIB
TOOLS_LIST_MAX = 16_000  # bytes, default toolsets
WORKFLOW_MAX_CALLS = 10
WORKFLOW_MAX_BYTES = 6_000  # requests and results together


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def _mb(size: float) -> str:
    return f"{size / MIB:.1f} MB"


def _signed(value: str) -> str:
    return value if value.startswith("-") else "+" + value


def _met(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def targets(r: Results) -> dict[str, bool]:
    """Which of the issue's targets this run met."""
    late, floor = r.late, r.floor
    rate = r.config.upload_bytes / late.upload_seconds
    curl = r.config.upload_bytes / r.curl_seconds
    return {
        "cold start": median(late.cold_starts) - median(floor.cold_starts) <= COLD_START_MAX_EXTRA,
        "p50": median(late.latencies) - median(floor.latencies) <= P50_MAX_EXTRA,
        "rss": max(late.rss_start - floor.rss_start, late.rss_after_calls - floor.rss_after_calls)
        <= RSS_MAX_EXTRA,
        "upload rate": rate >= UPLOAD_MIN_SHARE_OF_CURL * curl,
        "upload memory": late.upload_growth <= UPLOAD_MAX_GROWTH,
        "tools/list": late.tools_list_bytes <= TOOLS_LIST_MAX,
        "workflow": len(r.workflow) <= WORKFLOW_MAX_CALLS
        and sum(count for _, count in r.workflow) <= WORKFLOW_MAX_BYTES,
    }


def render(r: Results) -> str:
    late, floor, c = r.late, r.floor, r.config
    met = targets(r)
    size = c.upload_bytes
    curl_rate = size / r.curl_seconds
    late_rate, floor_rate = size / late.upload_seconds, size / floor.upload_seconds
    lines = [
        "# late-mcp benchmarks",
        "",
        f"`python -m benchmarks` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: "
        f"Python {platform.python_version()}, mcp {version('mcp')}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.machine()}; "
        f"{r.seconds:.0f} s in all; load average {r.load[0]:.1f} at the start, {r.load[1]:.1f} at the "
        "end (other work on the machine slows both servers and stretches wall-clock gaps; server CPU "
        "per call is what it cannot inflate). "
        "Both servers are real processes on stdio, driven by a bare JSON-RPC "
        "client, talking HTTP to the Late stand-in (the sandbox served by uvicorn on 127.0.0.1). "
        "The floor is `benchmarks/minimal_server.py`: the same SDK and the same requests through one "
        "shared httpx2 client, with no checks, retries or journal. Each call is `profiles_list` "
        "(GET /v1/profiles).",
        "",
        "| measure | late-mcp | floor | late-mcp minus floor | target | |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]

    def row(name: str, a: str, b: str, diff: str, target: str = "", ok: bool | None = None) -> None:
        lines.append(f"| {name} | {a} | {b} | {diff} | {target} | {'' if ok is None else _met(ok)} |")

    cold_late, cold_floor = median(late.cold_starts), median(floor.cold_starts)
    row(
        f"cold start, spawn → tools/list answered (median of {len(late.cold_starts)})",
        _s(cold_late),
        _s(cold_floor),
        _signed(_s(cold_late - cold_floor)),
        "≤ +0.15 s",
        met["cold start"],
    )
    row(
        f"&nbsp;&nbsp;fastest of {len(late.cold_starts)}",
        _s(min(late.cold_starts)),
        _s(min(floor.cold_starts)),
        _signed(_s(min(late.cold_starts) - min(floor.cold_starts))),
    )
    cpu_late, cpu_floor = median(late.cold_start_cpu), median(floor.cold_start_cpu)
    row("&nbsp;&nbsp;server CPU until answered (median)", _s(cpu_late), _s(cpu_floor),
        _signed(_s(cpu_late - cpu_floor)))  # fmt: skip
    row(
        "tools/list result",
        f"{late.tools_list_bytes:,} B",
        f"{floor.tools_list_bytes:,} B",
        f"+{late.tools_list_bytes - floor.tools_list_bytes:,} B",
        f"≤ {TOOLS_LIST_MAX:,} B",
        met["tools/list"],
    )
    for toolset, count in late.toolsets.items():
        row(f"&nbsp;&nbsp;toolset `{toolset}`", f"{count:,} B", "", "")
    p50_late, p50_floor = median(late.latencies), median(floor.latencies)
    n = len(late.latencies)
    row(f"per call p50 ({n} calls)", _ms(p50_late), _ms(p50_floor), _signed(_ms(p50_late - p50_floor)),
        "≤ +1 ms", met["p50"])  # fmt: skip
    row(f"&nbsp;&nbsp;server CPU per call ({n} calls)", _ms(late.cpu_per_call), _ms(floor.cpu_per_call),
        _signed(_ms(late.cpu_per_call - floor.cpu_per_call)))  # fmt: skip
    p99_late, p99_floor = percentile(late.latencies, 0.99), percentile(floor.latencies, 0.99)
    row(f"per call p99 ({n} calls)", _ms(p99_late), _ms(p99_floor), _signed(_ms(p99_late - p99_floor)))
    far = len(late.proxy_latencies)
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        a, b = percentile(late.proxy_latencies, q), percentile(floor.proxy_latencies, q)
        row(f"per call {label}, {c.delay_ms:g} ms per new connection ({far} calls)", _ms(a), _ms(b),
            _signed(_ms(a - b)))  # fmt: skip
    a, b = late.proxy_latencies[0], floor.proxy_latencies[0]
    row("&nbsp;&nbsp;first call there (opens the connection)", _ms(a), _ms(b), _signed(_ms(a - b)))
    rss_target = "≤ +20 MB"
    row("RSS after start", _mb(late.rss_start), _mb(floor.rss_start),
        _signed(_mb(late.rss_start - floor.rss_start)), rss_target,
        late.rss_start - floor.rss_start <= RSS_MAX_EXTRA)  # fmt: skip
    extra = late.rss_after_calls - floor.rss_after_calls
    row(f"RSS after {n} calls", _mb(late.rss_after_calls), _mb(floor.rss_after_calls), _signed(_mb(extra)),
        rss_target, extra <= RSS_MAX_EXTRA)  # fmt: skip
    row(
        f"{size / MIB / 1024:g} GiB upload (`media_upload_file`; curl -T: {curl_rate / MIB:.0f} MB/s)"
        if size >= 1024 * MIB
        else f"{size / MIB:g} MiB upload (`media_upload_file`; curl -T: {curl_rate / MIB:.0f} MB/s)",
        f"{late_rate / MIB:.0f} MB/s ({late_rate / curl_rate:.0%} of curl)",
        f"{floor_rate / MIB:.0f} MB/s ({floor_rate / curl_rate:.0%} of curl)",
        _signed(f"{(late_rate - floor_rate) / MIB:.0f} MB/s"),
        "≥ 80% of curl",
        met["upload rate"],
    )
    row("&nbsp;&nbsp;peak RSS growth during the upload", _mb(late.upload_growth), _mb(floor.upload_growth),
        _signed(_mb(late.upload_growth - floor.upload_growth)), "≤ 32 MB", met["upload memory"])  # fmt: skip
    total = sum(count for _, count in r.workflow)
    row(
        f"agency workflow: {len(r.workflow)} calls, bytes a model reads (requests + results)",
        f"{total:,} B",
        "",
        "",
        f"≤ {WORKFLOW_MAX_CALLS} calls, ≤ {WORKFLOW_MAX_BYTES:,} B",
        met["workflow"],
    )
    for step, count in r.workflow:
        row(f"&nbsp;&nbsp;{step}", f"{count:,} B", "", "")
    lines += [
        "",
        f"Targets met: {sum(met.values())} of {len(met)}"
        + (f" (missed: {', '.join(k for k, v in met.items() if not v)})." if not all(met.values()) else "."),
        "",
        "How: cold start runs the server until tools/list is answered, alternating the two servers "
        "after one warm-up each, both from cached bytecode as an installed package starts "
        "(PYTHONDONTWRITEBYTECODE is dropped for them; the cache is in a temporary folder); server "
        "CPU is the process's user and system time when the answer arrives. Calls go one at a time "
        f"over stdio; p50/p99 over {n} calls after start, "
        f"RSS (VmRSS) right after start and after those calls. The {c.delay_ms:g} ms rows point both "
        "servers at `benchmarks/delay_proxy.py`, which delays each new TCP connection (paid once: the "
        "client keeps its connection). The upload is a sparse file in tmp starting with an MP4 header, "
        f"best of {c.upload_rounds}, to the stand-in's presigned URL (which hashes what it receives), "
        "curl with `-T` to another presigned URL of the same stand-in; peak growth is VmHWM after the "
        "upload minus VmRSS before"
        + (" (peak reset before each upload)." if r.peak_reset else " (the kernel refused a peak reset).")
        + " The workflow counts each JSON-RPC request line and its answer line; the clients open "
        "their invite links themselves. Nothing here is a pass/fail test.",
        "",
        f"Command: `{' '.join([os.path.basename(sys.executable), '-m', 'benchmarks', *sys.argv[1:]])}`",
        "",
    ]
    return "\n".join(lines)
