"""Run every benchmark in one go and write the markdown table.

    .venv/bin/python -m benchmarks [--out benchmarks/results/latest.md] [--quick]

Starts the Late stand-in on loopback, measures late-mcp and the floor (benchmarks/minimal_server.py)
side by side, prints the table and writes it to --out. `--quick` uses tiny counts (a smoke run,
seconds; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from benchmarks.harness import MIB, Config, run
from benchmarks.report import render

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "latest.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--runs", type=int, default=10, help="cold starts per server (median)")
    parser.add_argument("--calls", type=int, default=1000, help="direct calls per server")
    parser.add_argument("--proxy-calls", type=int, default=500, help="calls through the delaying proxy")
    parser.add_argument("--upload-mib", type=int, default=1024, help="size of the upload")
    parser.add_argument("--quick", action="store_true", help="tiny counts: a smoke run")
    args = parser.parse_args(argv)
    # Stopped with SIGTERM: leave through the context managers, so the stand-in, the proxy and the
    # servers under test are stopped and the upload file is deleted.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    config = (
        Config(runs=1, calls=5, proxy_calls=3, upload_bytes=4 * MIB, upload_rounds=1)
        if args.quick
        else Config(
            runs=args.runs,
            calls=args.calls,
            proxy_calls=args.proxy_calls,
            upload_bytes=args.upload_mib * MIB,
        )
    )
    table = render(run(config, log=lambda line: print(line, file=sys.stderr, flush=True)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table, encoding="utf-8")
    print(table)
    print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
