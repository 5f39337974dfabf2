"""benchmarks/cold_start.py says why it cannot measure, instead of failing with its own error."""

from __future__ import annotations

import json
import os
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


def test_servers_under_test_start_from_cached_bytecode(tmp_path: Path) -> None:
    # An installed late-mcp starts from compiled bytecode. With PYTHONDONTWRITEBYTECODE (set by some
    # shells and CI runners) passed on, every measured start would compile late-mcp from source again
    # while the SDK's modules stay compiled: the harness must hand its servers a bytecode cache.
    root = SCRIPT.parents[1]
    journal = tmp_path / "late.sqlite3"
    show_env = (
        "import json, sys; from pathlib import Path; from benchmarks.harness import server_env; "
        "print(json.dumps(server_env('http://127.0.0.1:9/api', Path(sys.argv[1]))))"
    )
    outer = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    shown = subprocess.run(
        [sys.executable, "-c", show_env, str(journal)],
        cwd=root,
        env=outer,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    env = json.loads(shown.stdout)
    # A server under test imports its modules with that environment, like `python -m late_mcp`.
    subprocess.run([sys.executable, "-c", "import late_mcp.config.settings"], env=env, timeout=60, check=True)
    assert list(tmp_path.rglob("settings*.pyc")), (
        f"no bytecode was cached under {tmp_path}: every measured start compiles from source"
    )
