"""benchmarks/cold_start.py says why it cannot measure, instead of failing with its own error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "cold_start.py"


def test_an_interpreter_without_the_packages_gets_the_real_import_error() -> None:
    # -S: no site-packages, like running it with a system Python outside the virtualenv.
    proc = subprocess.run(
        [sys.executable, "-S", str(SCRIPT), "--runs", "1"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert "cannot import mcp (No module named 'mcp')" in proc.stderr
    assert ".venv/bin/python benchmarks/cold_start.py" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_failing_server_shows_its_stderr() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--runs", "1", "--", "--bogus"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "exited with status 2 before answering tools/list. Its stderr:" in proc.stderr
    assert "late-mcp: error: unrecognized arguments: --bogus" in proc.stderr
    assert "Traceback" not in proc.stderr
