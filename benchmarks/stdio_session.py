"""A bare JSON-RPC client over a server process's stdin/stdout, for measuring.

No SDK on the client side: one line out, read lines until the answer, so the time measured is the
server's (plus a pipe round trip), and the bytes counted are exactly what a client receives.
Memory is read from /proc (Linux).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

PROTOCOL = "2025-06-18"


class ServerFailed(Exception):
    """The server ended, or answered with a JSON-RPC error."""


@dataclass
class Exchange:
    """One request and its answer as they went over the pipe."""

    request: bytes
    answer: bytes
    seconds: float
    message: dict[str, Any]

    @property
    def result(self) -> dict[str, Any]:
        result = self.message.get("result")
        if not isinstance(result, dict):
            raise ServerFailed(f"JSON-RPC error: {self.message.get('error')}")
        return result

    @property
    def bytes(self) -> int:
        return len(self.request) + len(self.answer)


class StdioSession:
    """One server process, initialized; `call()` a tool, `rss()` its memory."""

    def __init__(self, command: list[str], env: dict[str, str], stderr: IO[bytes]) -> None:
        self.command = command
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env
        )
        self.stderr = stderr
        self._next_id = 0

    def send(self, method: str, params: dict[str, Any] | None = None, *, notify: bool = False) -> bytes:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params or {}}
        if not notify:
            self._next_id += 1
            message["id"] = self._next_id
        line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        assert self.proc.stdin is not None
        self.proc.stdin.write(line)
        self.proc.stdin.flush()
        return line

    def request(self, method: str, params: dict[str, Any] | None = None) -> Exchange:
        start = time.perf_counter()
        line = self.send(method, params)
        assert self.proc.stdout is not None
        while True:
            answer = self.proc.stdout.readline()
            if not answer:
                raise ServerFailed(f"{' '.join(self.command)} closed stdout:\n{self._stderr_text()}")
            message = json.loads(answer)
            if message.get("id") == self._next_id:
                return Exchange(line, answer, time.perf_counter() - start, message)

    def initialize(self) -> Exchange:
        self.request(
            "initialize",
            {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": "late-mcp-benchmarks", "version": "1"},
            },
        )
        self.send("notifications/initialized", notify=True)
        return self.request("tools/list")

    def call(self, tool: str, arguments: dict[str, Any]) -> Exchange:
        exchange = self.request("tools/call", {"name": tool, "arguments": arguments})
        if exchange.result.get("isError"):
            raise ServerFailed(f"{tool} failed: {json.dumps(exchange.result)[:600]}")
        return exchange

    def _status(self) -> dict[str, int]:
        values: dict[str, int] = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in {"VmRSS", "VmHWM"}:
                values[name] = int(rest.split()[0]) * 1024
        return values

    def rss(self) -> int:
        """Resident memory now, in bytes."""
        return self._status()["VmRSS"]

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (user + system), in seconds."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reset_peak(self) -> bool:
        """Start the peak (VmHWM) over from the current RSS; False where the kernel refuses."""
        try:
            Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    def peak(self) -> int:
        """The highest resident memory since start (or since reset_peak), in bytes."""
        return self._status()["VmHWM"]

    def _stderr_text(self) -> str:
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace").strip()[-3000:] or "(empty)"

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
