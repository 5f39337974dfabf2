"""Cold start and tools/list size: process start until tools/list is answered, over stdio.

    python benchmarks/cold_start.py [--runs 10] [--baseline] [-- extra server args]

Starts `python -m late_mcp --sandbox` (no key, no network) N times, sends initialize,
notifications/initialized and tools/list, and reports the median and spread of the time from
spawn to the tools/list answer, plus the size of that answer in bytes. `--baseline` measures
benchmarks/minimal_server.py (one tool on the same SDK) the same way, for comparison.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def one_run(command: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdin and proc.stdout
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
    ]
    proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
    proc.stdin.flush()
    size = 0
    for line in proc.stdout:
        message = json.loads(line)
        if message.get("id") == 2:
            elapsed = time.perf_counter() - start
            size = len(json.dumps(message["result"], separators=(",", ":")).encode())
            break
    proc.stdin.close()
    proc.wait(timeout=20)
    return elapsed, size


def report(label: str, command: list[str], runs: int) -> None:
    one_run(command)  # warm the file cache and bytecode
    times, sizes = zip(*(one_run(command) for _ in range(runs)), strict=True)
    print(
        f"{label}: cold start to tools/list over stdio, {runs} runs: median "
        f"{statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms; tools/list result {sizes[0]} bytes"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--baseline", action="store_true", help="also measure the one-tool server")
    parser.add_argument("server_args", nargs="*")
    args = parser.parse_args()
    report("late-mcp", [sys.executable, "-m", "late_mcp", "--sandbox", *args.server_args], args.runs)
    if args.baseline:
        minimal = Path(__file__).with_name("minimal_server.py")
        report("minimal one-tool server", [sys.executable, str(minimal)], args.runs)


if __name__ == "__main__":
    main()
