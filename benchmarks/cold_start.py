"""Cold start and tools/list size: process start until tools/list is answered, over stdio.

    python benchmarks/cold_start.py [--runs 10] [--baseline] [-- extra server args]

Starts `python -m late_mcp --sandbox` (no key, no network) N times, sends initialize,
notifications/initialized and tools/list, and reports the median and spread of the time from
spawn to the tools/list answer, plus the size of that answer in bytes. `--baseline` measures
benchmarks/minimal_server.py (the floor: a few tools on the same SDK) the same way, for comparison.
Both start from cached bytecode, as an installed package does (see `with_bytecode_cache`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path


class ServerFailed(Exception):
    """The server under test ended or closed stdout before answering tools/list."""


def check_imports() -> None:
    """Fail early, with the real reason, when this interpreter cannot import the server."""
    for module in ("mcp", "late_mcp"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            sys.exit(
                f"cold_start.py: {sys.executable} cannot import {module} ({exc}). Run it with the "
                "project's virtualenv: .venv/bin/python benchmarks/cold_start.py"
            )


def with_bytecode_cache(env: Mapping[str, str], cache: Path) -> dict[str, str]:
    """`env` for a server under test, with Python's bytecode cache on and kept in `cache`.

    An installed late-mcp starts from compiled bytecode (written at install or on the first run).
    PYTHONDONTWRITEBYTECODE, which some shells and CI runners set, would instead make every start
    compile late-mcp's modules from source again (about 50 ms here) while the SDK's stay compiled
    in site-packages, so it is dropped. PYTHONPYCACHEPREFIX puts the cache (for every module, the
    SDK's included) in `cache`: nothing is written into the checkout, both servers are treated
    alike, and the warm-up run fills it."""
    cached = {key: value for key, value in env.items() if key != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = str(cache)
    return cached


def one_run(command: list[str], env: Mapping[str, str] | None = None) -> tuple[float, int]:
    with tempfile.TemporaryFile(mode="w+") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
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
        answer: tuple[float, int] | None = None
        try:
            proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
            proc.stdin.flush()
            for line in proc.stdout:
                message = json.loads(line)
                if message.get("id") == 2:
                    elapsed = time.perf_counter() - start
                    answer = elapsed, len(json.dumps(message["result"], separators=(",", ":")).encode())
                    break
        except (BrokenPipeError, ValueError):
            pass  # the server died or wrote something that is not JSON-RPC: reported below
        if proc.stdin:
            proc.stdin.close()
        code = proc.wait(timeout=20)
        if answer is None:
            stderr.seek(0)
            raise ServerFailed(
                f"{' '.join(command)} exited with status {code} before answering tools/list. "
                f"Its stderr:\n{stderr.read().strip() or '(empty)'}"
            )
        return answer


def report(label: str, command: list[str], runs: int, env: Mapping[str, str]) -> None:
    one_run(command, env)  # warm the file cache and bytecode
    times, sizes = zip(*(one_run(command, env) for _ in range(runs)), strict=True)
    print(
        f"{label}: cold start to tools/list over stdio, {runs} runs: median "
        f"{statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms; tools/list result {sizes[0]} bytes"
    )


def main() -> None:
    check_imports()
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--baseline", action="store_true", help="also measure the floor (minimal_server.py)")
    parser.add_argument("server_args", nargs="*")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="late-mcp-bytecode-") as cache:
        env = with_bytecode_cache(os.environ, Path(cache))
        late = [sys.executable, "-m", "late_mcp", "--sandbox", *args.server_args]
        report("late-mcp", late, args.runs, env)
        if args.baseline:
            minimal = Path(__file__).with_name("minimal_server.py")
            report("floor (minimal_server.py)", [sys.executable, str(minimal)], args.runs, env)


if __name__ == "__main__":
    try:
        main()
    except ServerFailed as exc:
        sys.exit(f"cold_start.py: {exc}")
