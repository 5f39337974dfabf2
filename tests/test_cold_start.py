"""Cold start: what the server does before it answers, kept to what serving needs.

The figures are in benchmarks/results/latest.md (benchmarks/cold_start.py, `python -m benchmarks`);
these tests check the mechanisms, never a time."""

from __future__ import annotations

import gc
import importlib
import json
import os
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import late_mcp
from late_mcp.transports import serving


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generation of every garbage collection that starts while the test runs."""
    seen: list[int] = []

    def note(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(note)
    try:
        yield seen
    finally:
        gc.callbacks.remove(note)
        gc.unfreeze()


def test_settling_the_heap_freezes_it_without_a_full_collection(collections: list[int]) -> None:
    frozen_before = gc.get_freeze_count()
    serving._settle_heap()
    assert gc.get_freeze_count() > frozen_before, "start-up's objects stay in the collector's sight"
    assert 2 not in collections, "a full collection walked the whole start-up heap before serving"


# Models only a call needs: Late's answers, platform options, what tools answer. A fresh process that
# builds the server with every tool must not have built them (pydantic compiles each on first use).
CALL_TIME_MODELS = [
    ("late_mcp.late.models", "Post"),
    ("late_mcp.late.models", "Account"),
    ("late_mcp.late.insights", "Comments"),
    ("late_mcp.rules.options", "InstagramOptions"),
    ("late_mcp.tools.publishing", "PostResult"),
    ("late_mcp.tools.comments", "PostComments"),
    ("late_mcp.tools._post_views", "PostView"),
]


def test_call_time_models_are_built_on_first_use_not_at_start() -> None:
    script = (
        "import importlib, json, sys\n"
        "from late_mcp.config.settings import TOOLSETS, Settings\n"
        "from late_mcp.server.build import build_server\n"
        "build_server(Settings.from_env(sandbox=True), toolsets=TOOLSETS)\n"
        "built = [f'{m}.{c}' for m, c in json.loads(sys.argv[1])\n"
        "         if getattr(importlib.import_module(m), c).__pydantic_complete__]\n"
        "print(json.dumps(built))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(CALL_TIME_MODELS)],
        env={k: v for k, v in os.environ.items() if not k.startswith("LATE_")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout) == [], "built at start-up, before any call needed them"


def _late_mcp_models() -> list[type[BaseModel]]:
    for info in pkgutil.walk_packages(late_mcp.__path__, "late_mcp."):
        importlib.import_module(info.name)
    found: list[type[BaseModel]] = []
    pending: list[type[BaseModel]] = [BaseModel]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("late_mcp.") and "[" not in sub.__name__:
                found.append(sub)
    return found


def test_every_model_builds_when_first_used() -> None:
    # A model built on first use must still build: a forward reference it cannot resolve would
    # otherwise surface only in the middle of a call.
    models = _late_mcp_models()
    assert len(models) > 100
    for model in models:
        model.model_rebuild(raise_errors=True)
        assert model.__pydantic_complete__, model
        assert model.model_json_schema(), model


def test_the_collector_is_paused_while_start_up_builds_and_on_when_serving(
    monkeypatch: pytest.MonkeyPatch, collections: list[int]
) -> None:
    from late_mcp.config.http import HttpSettings
    from late_mcp.config.settings import Settings
    from late_mcp.server import build
    from late_mcp.transports import stdio

    seen: dict[str, bool] = {}
    real_build = build.build_server

    def building(*args: Any, **kwargs: Any) -> Any:
        seen["collector on while building"] = gc.isenabled()
        return real_build(*args, **kwargs)

    def serving_stdio(server: Any) -> None:  # the transport boundary: no stdin to read here
        seen["collector on while serving"] = gc.isenabled()
        seen["heap frozen"] = gc.get_freeze_count() > 0

    monkeypatch.setattr(build, "build_server", building)
    monkeypatch.setattr(stdio, "run_stdio", serving_stdio)
    monkeypatch.setattr(serving.signal, "signal", lambda *_: None)  # keep pytest's Ctrl-C
    assert serving.serve(Settings.from_env(sandbox=True), HttpSettings.from_env()) == 0
    assert seen == {
        "collector on while building": False,
        "collector on while serving": True,
        "heap frozen": True,
    }
    assert gc.isenabled()


# What serving on stdio never needs: HTTP serving, the stand-in, Redis, the other subcommands.
NOT_FOR_STDIO = (
    "late_mcp.sandbox",
    "late_mcp.transports.http_app",
    "late_mcp.transports.http_connections",
    "late_mcp.transports.http_limits",
    "late_mcp.transports.http_sessions",
    "late_mcp.transports.page",
    "late_mcp.safety.redis_journal",
    "late_mcp.auth.redis_tokens",
    "late_mcp.late.redis_budget",
    "late_mcp.cli.call",
    "late_mcp.cli.doctor",
    "late_mcp.cli.tokens",
    "redis",
)


def test_serving_stdio_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    # The real entry point up to the moment it would read stdin; then the modules loaded so far.
    script = (
        "import json, sys\n"
        "from late_mcp.transports import stdio\n"
        "stdio.run_stdio = lambda server: print(json.dumps(sorted(sys.modules)))\n"
        "from late_mcp.cli.main import main\n"
        "sys.exit(main([]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}
    env.update(LATE_API_KEY="sk_" + "7" * 40, LATE_JOURNAL_PATH=str(tmp_path / "journal.sqlite3"))
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = json.loads(proc.stdout)
    assert "late_mcp.server.build" in loaded
    packages = tuple(f"{name}." for name in NOT_FOR_STDIO)
    unneeded = [m for m in loaded if m in NOT_FOR_STDIO or m.startswith(packages)]
    assert unneeded == []


def test_listing_the_tools_opens_no_journal(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}
    env["LATE_JOURNAL_PATH"] = str(journal)
    proc = subprocess.run(
        [sys.executable, "-m", "late_mcp", "tools"], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "posts_create" in proc.stdout
    assert not journal.exists() and not list(tmp_path.iterdir())
