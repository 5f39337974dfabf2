"""The `late-mcp` command as a person types it: real processes, real exit codes, real output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from late_mcp.tools import ALL_TOOLS


def late_mcp(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m late_mcp ARGS` with only the given LATE_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}
    return subprocess.run(
        [sys.executable, "-m", "late_mcp", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("LATE_RETRY_ATTEMPTS", "0.5", "LATE_RETRY_ATTEMPTS must be a whole number of at least 1"),
        ("LATE_LOG_LEVEL", "loud", "LATE_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("LATE_READ_ONLY", "maybe", "LATE_READ_ONLY must be on or off"),
        ("LATE_READ_TIMEOUT", "soon", "LATE_READ_TIMEOUT must be a number of seconds greater than 0"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(name: str, value: str, reason: str) -> None:
    for args in (("--sandbox",), ("--sandbox", "call", "usage_stats")):
        proc = late_mcp(*args, **{name: value})
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == ""
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"late-mcp: {reason}"), proc.stderr


def test_log_level_is_read_in_any_case() -> None:
    proc = late_mcp("--sandbox", "call", "usage_stats", LATE_LOG_LEVEL="info")
    assert proc.returncode == 0, proc.stderr
    assert " INFO late_mcp: late-mcp " in proc.stderr and "ready (sandbox)" in proc.stderr


def test_tools_prints_one_line_per_tool() -> None:
    proc = late_mcp("tools")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(ALL_TOOLS)
    for spec, line in zip(ALL_TOOLS, lines, strict=True):
        name, access, domain, sentence = line.split(maxsplit=3)
        assert (name, access, domain) == (spec.name, "read" if spec.read_only else "write", spec.domain)
        assert sentence.endswith(".") and sentence in " ".join((spec.fn.__doc__ or "").split())


def test_toolsets_filter_by_domain() -> None:
    proc = late_mcp("tools", "--toolset", "posts", "--toolset", "queue")
    assert proc.returncode == 0, proc.stderr
    listed = [line.split()[0] for line in proc.stdout.splitlines()]
    assert listed == [spec.name for spec in ALL_TOOLS if spec.domain in {"posts", "queue"}]
    unknown = late_mcp("tools", "--toolset", "nope")
    assert unknown.returncode == 2
    assert "unknown toolset nope; choose from profiles, invites, accounts, posts" in unknown.stderr


def test_read_only_from_the_environment_is_honoured() -> None:
    listed = late_mcp("tools", LATE_READ_ONLY="on")
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names == [spec.name for spec in ALL_TOOLS if spec.read_only]
    refused = late_mcp("--sandbox", "call", "profiles_create", "name=X", LATE_READ_ONLY="ON")
    assert refused.returncode == 2
    assert "no tool named 'profiles_create' (read-only mode offers only tools that change nothing)" in (
        refused.stderr
    )


def test_call_prints_the_human_line() -> None:
    proc = late_mcp("--sandbox", "call", "profiles_list")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "[sandbox: demo data, nothing is published] 2 profiles."


def test_call_parses_values_as_json_and_prints_structured_results() -> None:
    proc = late_mcp(
        "call",
        "--sandbox",
        "posts_create",
        "--json",
        "content=Fresh croissants",
        'accounts=["64b000000000000000000001"]',
        "is_draft=true",
    )
    assert proc.returncode == 0, proc.stderr
    post = json.loads(proc.stdout)["post"]
    assert post["content"] == "Fresh croissants" and post["status"] == "draft"
    from_json = late_mcp("--sandbox", "call", "profiles_create", "--args", '{"name": "007"}', "--json")
    assert json.loads(from_json.stdout)["profile"]["name"] == "007"
    bare = late_mcp("--sandbox", "call", "profiles_create", '{"name": "Bare", "color": "#123456"}', "--json")
    assert json.loads(bare.stdout)["profile"]["color"] == "#123456"
    not_json = late_mcp("--sandbox", "call", "profiles_create", "--args", "{name: x}")
    assert not_json.returncode == 2 and "the arguments object is not valid JSON" in not_json.stderr


def test_call_reports_a_tool_error_on_stderr_and_fails() -> None:
    proc = late_mcp(
        "--sandbox", "call", "posts_create", "content=x", 'accounts=["twitter"]', "publish_now=true"
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "'twitter' does not say whose twitter account" in proc.stderr and "profile_id" in proc.stderr


def test_call_refuses_a_malformed_command_line() -> None:
    proc = late_mcp("--sandbox", "call", "profiles_list", "oops")
    assert proc.returncode == 2
    assert "expected key=value, got 'oops'" in proc.stderr
    unknown = late_mcp("--sandbox", "call", "profile_list")
    assert unknown.returncode == 2
    assert "no tool named 'profile_list'; `late-mcp tools` lists them." in unknown.stderr


def test_call_writes_to_the_same_journal_as_the_server(tmp_path: Path) -> None:
    journal = str(tmp_path / "journal.sqlite3")
    created = late_mcp("--sandbox", "call", "profiles_create", "name=Journaled", LATE_JOURNAL_PATH=journal)
    assert created.returncode == 0, created.stderr
    recent = late_mcp("--sandbox", "call", "journal_recent", "--json", LATE_JOURNAL_PATH=journal)
    assert recent.returncode == 0, recent.stderr
    assert "profiles_create" in recent.stdout


def test_call_of_a_list_tool_prints_an_aligned_table() -> None:
    accounts = late_mcp("--sandbox", "call", "accounts_list")
    profiles = late_mcp("--sandbox", "call", "profiles_list")
    assert accounts.returncode == 0 and profiles.returncode == 0, accounts.stderr + profiles.stderr
    lines = accounts.stdout.splitlines()
    assert lines[0] == "[sandbox: demo data, nothing is published] 8 accounts."
    assert lines[1].split() == ["ID", "PLATFORM", "HANDLE", "CLIENT"]
    assert lines[2].split() == ["64b000000000000000000001", "twitter", "@acmebakery", "Acme", "Bakery"]
    assert "@nordic_deals" in accounts.stdout and len(lines) == 2 + 8
    # Aligned: every column starts where its header starts.
    for header in ("PLATFORM", "HANDLE", "CLIENT"):
        start = lines[1].index(header)
        assert all(line[start - 2 : start] == "  " and line[start] != " " for line in lines[2:]), header
    assert profiles.stdout.splitlines()[1:] == [
        "ID                        NAME            DEFAULT",
        "64a000000000000000000001  Acme Bakery     yes",
        "64a000000000000000000002  Nordic Outdoor",
    ]


def test_tools_honours_late_toolsets_and_aligns_its_columns() -> None:
    analytics = late_mcp("tools", LATE_TOOLSETS="analytics,comments")
    assert analytics.returncode == 0, analytics.stderr
    lines = analytics.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        s.name for s in ALL_TOOLS if s.domain in ("analytics", "comments")
    ]
    starts = {line.index(" " + line.split()[3]) for line in lines}  # the description column
    assert len(starts) == 1, analytics.stdout
    wrong = late_mcp("tools", LATE_TOOLSETS="stats")
    assert (
        wrong.returncode == 2 and "LATE_TOOLSETS must be" in wrong.stderr and "unknown: stats" in wrong.stderr
    )


@pytest.mark.parametrize("args", [("tools",), ("--sandbox", "call", "accounts_list")])
def test_output_to_a_reader_that_has_gone_ends_quietly(args: tuple[str, ...]) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "late_mcp", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=clean,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line is written, as after `head -1`
    errors = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, errors
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors
