"""The `late-mcp` command: parse arguments, read settings, run the server on a transport.

stdout belongs to JSON-RPC in stdio mode, so everything human goes to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Sequence
from typing import Literal

from late_mcp import __version__
from late_mcp.config import ConfigError, Settings


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="late-mcp",
        description="MCP server for the Late social media API (getlate.dev). "
        "Reads LATE_API_KEY and LATE_BASE_URL from the environment.",
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        default=None,
        help="use the built-in Late stand-in with demo data; no API key needed (also LATE_SANDBOX=1)",
    )
    parser.add_argument(
        "--transport",
        choices=("stdio", "sse", "http", "streamable-http"),
        default="stdio",
        help="how clients connect (default: stdio, what Claude Desktop starts; "
        "http is streamable HTTP, also called streamable-http)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address for sse/streamable-http")
    parser.add_argument("--port", type=int, default=8000, help="port for sse/streamable-http")
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="offer only tools that change nothing (also LATE_READ_ONLY=1)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("LATE_LOG_LEVEL", "WARNING"),
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="stderr log level",
    )
    parser.add_argument("--version", action="version", version=f"late-mcp {__version__}")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env(sandbox=args.sandbox)
    except ConfigError as exc:
        print(f"late-mcp: {exc}", file=sys.stderr)
        return 2
    transport: Literal["stdio", "sse", "http"] = (
        "http" if args.transport == "streamable-http" else args.transport
    )
    settings = dataclasses.replace(settings, transport=transport)
    read_only = args.read_only or os.environ.get("LATE_READ_ONLY", "").lower() in {"1", "true", "yes"}

    from late_mcp.server import build_server  # the SDK import is the slow part; after the checks

    server = build_server(settings, read_only=read_only)
    if transport == "stdio":
        server.run("stdio")
    elif transport == "sse":
        print(f"late-mcp: SSE on http://{args.host}:{args.port}/sse", file=sys.stderr)
        server.run("sse", host=args.host, port=args.port)
    else:
        print(f"late-mcp: streamable HTTP on http://{args.host}:{args.port}/mcp", file=sys.stderr)
        server.run("streamable-http", host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
