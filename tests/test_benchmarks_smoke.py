"""`python -m benchmarks --quick` runs end to end and writes its table. It checks that the harness
works (stand-in, floor, proxy, upload, workflow), not any figure: benchmarks measure, they do not
pass or fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the upload row compares against curl -T")
def test_quick_run_writes_the_whole_table(tmp_path: Path) -> None:
    out = tmp_path / "latest.md"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = out.read_text()
    for row in (
        "cold start, spawn → tools/list answered",
        "tools/list result",
        "toolset `posts`",
        "per call p50",
        "60 ms per new connection",
        "RSS after start",
        "MiB upload (`media_upload_file`; curl -T:",
        "peak RSS growth during the upload",
        "calls, bytes a model reads (requests + results)",
        "invites_create (6 platforms)",
        "posts_create (2 accounts, 09:00 Europe/Amsterdam)",
    ):
        assert row in table, f"missing row {row!r}"
    assert "Targets met:" in table
    assert table in proc.stdout  # printed as well as written
    assert list(scratch.iterdir()) == [], "the benchmark left files behind in tmp"
