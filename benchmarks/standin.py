"""The Late stand-in over local HTTP: the sandbox app served by uvicorn on 127.0.0.1.

    python -m benchmarks.standin --port 0 [--api-key KEY]

Prints the port it listens on as one line on stdout, then serves until stopped. The rate limit
is lifted so a thousand calls measure the server, not the sandbox's 429s.
"""

from __future__ import annotations

import argparse
import socket

import uvicorn

from late_mcp.sandbox import SandboxState, create_sandbox_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    # every answer (headers, then body) waits 40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    print(sock.getsockname()[1], flush=True)
    app = create_sandbox_app(api_key=args.api_key, state=SandboxState(rate_limit=1_000_000))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
