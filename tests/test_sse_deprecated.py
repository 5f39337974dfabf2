"""The SSE transport is deprecated (issue 16): `--help` says so, and serving it says so on stderr."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from test_http_transports import clean_env, free_port, healthy


def late_mcp(*args: str, **env: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "late_mcp", *args]
    return subprocess.Popen(
        command, env=clean_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_help_marks_the_sse_transport_deprecated() -> None:
    proc = late_mcp("--help")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    flat = " ".join(out.split())
    assert "sse is deprecated: the older SSE transport, for clients that cannot use http yet" in flat


def serve_until_healthy(*args: str, **env: str) -> str:
    """Start `late-mcp --sandbox ...` on a free port, wait until it answers, stop it; its stderr."""
    port = free_port()
    proc = late_mcp("--sandbox", "--port", str(port), *args, **env)
    try:
        for _ in range(300):  # 30 s at most
            if healthy(port) or proc.poll() is not None:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("late-mcp did not answer /healthz")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert out == "" and proc.returncode == 130, err
    return err


def test_serving_sse_warns_once_on_stderr_and_names_the_replacement() -> None:
    for err in (serve_until_healthy("--transport", "sse"), serve_until_healthy(LATE_MCP_TRANSPORT="sse")):
        warnings = [line for line in err.splitlines() if "deprecated" in line]
        assert warnings == [
            "late-mcp: warning: the SSE transport is deprecated (MCP replaced it with streamable HTTP, "
            "and clients on protocol 2026-07-28 use only that); serve --transport http unless a client "
            "still needs /sse."
        ], err
        assert "SSE on http://127.0.0.1:" in err


def test_serving_streamable_http_gives_no_such_warning() -> None:
    err = serve_until_healthy("--transport", "http")
    assert "deprecated" not in err and "streamable HTTP on http://127.0.0.1:" in err
