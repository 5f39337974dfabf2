"""What MCP clients hand on from a tool result: one text (late-mcp's form) or text + structuredContent.

    .venv/bin/python -m benchmarks.result_forms [--out benchmarks/results/result_forms.md]

Starts `late-mcp --sandbox --transport streamable-http` and, beside it, a small server on the same
SDK that answers `profiles_list` with late-mcp's very answer in the two-field form late-mcp used
before (the same text, and the same JSON again as `structuredContent`). Three independent clients
call `profiles_list` on both over real HTTP, and the table records what each hands on to its caller
(the bytes it prints or returns) and whether the summary line and the data arrive:

- the official TypeScript SDK (`Client.callTool`, the result as the SDK returns it);
- the MCP Inspector's CLI (`npx @modelcontextprotocol/inspector --cli`, what it prints);
- fastmcp's CLI (`fastmcp call`, what it prints).

Needs node with npm (the TypeScript SDK is installed into tests/compat_ts/node_modules as the tests
do) and network access to npm and PyPI the first time (fastmcp goes into .cache/fastmcp-venv).
Nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
COMPAT = ROOT / "tests" / "compat_ts"
INSPECTOR = "@modelcontextprotocol/inspector@0.21.2"
FASTMCP = "fastmcp==4.2.3"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "result_forms.md"
TS_CALL = """
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
const client = new Client({ name: "result-forms", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(process.argv[2])));
const result = await client.callTool({ name: "profiles_list", arguments: {} });
console.log(JSON.stringify(result));
await client.close();
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {seconds:g} s")


@contextmanager
def running(command: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


def serve_both(port: int, answer_file: Path) -> None:
    """The two-field form: late-mcp's text and, again, its JSON as structuredContent."""
    text = answer_file.read_text(encoding="utf-8")
    data = json.loads(text.rsplit("\n", 1)[1])
    server: MCPServer[Any] = MCPServer("both-forms", log_level="WARNING")

    @server.tool()
    async def profiles_list() -> CallToolResult:
        """Profiles, answered in the two-field form."""
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)

    server.run(transport="streamable-http", host="127.0.0.1", port=port)


def ts_sdk(url: str) -> str:
    if not (COMPAT / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=COMPAT, check=True
        )
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "call.mjs"
        script.write_text(TS_CALL, encoding="utf-8")
        (Path(folder) / "node_modules").symlink_to(COMPAT / "node_modules")
        return subprocess.run(["node", str(script), url], capture_output=True, text=True, check=True).stdout


def inspector(url: str) -> str:
    command = ["npx", "-y", INSPECTOR, "--cli", url, "--transport", "http"]
    command += ["--method", "tools/call", "--tool-name", "profiles_list"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def fastmcp(url: str) -> str:
    venv = CACHE / "fastmcp-venv"
    binary = venv / "bin" / "fastmcp"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", FASTMCP], check=True)
    env = {**os.environ, "COLUMNS": "10000", "NO_COLOR": "1"}
    return subprocess.run(
        [str(binary), "call", url, "profiles_list"], capture_output=True, text=True, check=True, env=env
    ).stdout


def copies(shown: str, profile_id: str) -> int:
    """How often the data reached the output: the first profile's id, counted (JSON escapes undone)."""
    return shown.replace('\\"', '"').count(profile_id)


def measure(out: Path) -> str:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}
    late = [str(ROOT / ".venv" / "bin" / "late-mcp"), "--sandbox", "--transport", "streamable-http"]
    rows: list[tuple[str, str, int, bool, int]] = []
    with running([*late, "--port", str(port)], port, env) as late_url:
        answer = json.loads(ts_sdk(late_url))["content"][0]["text"]
        summary = answer.split("\n", 1)[0]
        profile_id = json.loads(answer.rsplit("\n", 1)[1])["profiles"][0]["id"]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
            handle.write(answer)
        both_port = free_port()
        both = [sys.executable, "-m", "benchmarks.result_forms", "--serve-both", str(both_port), handle.name]
        with running(both, both_port, {**env, "PYTHONPATH": str(ROOT)}) as both_url:
            for client, run in (
                ("TypeScript SDK", ts_sdk),
                ("Inspector CLI", inspector),
                ("fastmcp call", fastmcp),
            ):
                for form, url in (("one text (late-mcp)", late_url), ("text + structuredContent", both_url)):
                    shown = run(url)
                    rows.append(
                        (client, form, len(shown.encode()), summary in shown, copies(shown, profile_id))
                    )
        os.unlink(handle.name)
    lines = [
        "# What clients hand on from a tool result",
        "",
        f"`profiles_list` on the sandbox: the answer's text is {len(answer.encode()):,} bytes "
        "(summary line + JSON).",
        "",
        "| client | result form | bytes handed on | summary line | copies of the data |",
        "| --- | --- | ---: | :---: | ---: |",
    ]
    for client, form, size, has_summary, count in rows:
        lines.append(f"| {client} | {form} | {size:,} | {'yes' if has_summary else 'no'} | {count} |")
    lines += ["", f"Command: `python -m benchmarks.result_forms` ({INSPECTOR}, {FASTMCP}).", ""]
    table = "\n".join(lines)
    out.write_text(table, encoding="utf-8")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.result_forms", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--serve-both", nargs=2, metavar=("PORT", "ANSWER_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_both:
        serve_both(int(args.serve_both[0]), Path(args.serve_both[1]))
        return 0
    for tool in ("node", "npm", "npx"):
        if shutil.which(tool) is None:
            print(f"result_forms: {tool} is not installed", file=sys.stderr)
            return 2
    print(measure(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
