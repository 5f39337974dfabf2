"""`late-mcp doctor` as a person runs it: a real process, against the sandbox and a real HTTP stand-in."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client

from conftest import fails, make_settings
from late_mcp.sandbox import create_sandbox_app
from late_mcp.server.build import build_server
from standin import served
from test_cli import late_mcp

GOOD_KEY = "sk_" + "d0c7" * 16  # well-formed: sk_ + 64 hex
OTHER_KEY = "sk_" + "0ba5" * 16


@pytest.fixture
def stand_in() -> Iterator[str]:
    """The sandbox over real HTTP (uvicorn adds a Date header), accepting only GOOD_KEY."""
    with served(create_sandbox_app(api_key=GOOD_KEY)) as base:
        yield base + "/api"


def report(stdout: str) -> dict[str, tuple[str, str]]:
    """check name -> (status, detail), from the report's fixed columns."""
    rows = {}
    for line in stdout.splitlines()[:-1]:
        status, rest = line[:4].strip(), line[6:]
        name, _, detail = rest.partition("  ")
        rows[name.strip()] = (status, detail.strip())
    return rows


def test_doctor_passes_in_sandbox_mode() -> None:
    proc = late_mcp("--sandbox", "doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = report(proc.stdout)
    assert {name: status for name, (status, _) in rows.items()} == {
        "python": "ok",
        "key": "ok",
        "base URL": "ok",
        "key accepted": "ok",
        "profiles": "ok",
        "account health": "ok",
        "clock": "ok",
        "journal": "ok",
    }
    assert rows["profiles"][1] == "2 profiles, 8 accounts"
    assert "late-mcp 0.1.0" in rows["python"][1] and "mcp " in rows["python"][1]
    assert proc.stdout.splitlines()[-1] == "Ready."


def test_doctor_checks_a_real_endpoint_the_clock_and_the_journal(stand_in: str, tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    proc = late_mcp("doctor", LATE_API_KEY=GOOD_KEY, LATE_BASE_URL=stand_in, LATE_JOURNAL_PATH=str(journal))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = report(proc.stdout)
    assert rows["key"] == ("ok", "LATE_API_KEY is set and well-formed (sk_ + 64 hex; not shown)")
    assert rows["base URL"] == ("ok", f"{stand_in} answers")
    assert rows["key accepted"] == ("ok", "Late accepted the key")
    assert rows["clock"][0] == "ok" and rows["clock"][1].startswith("within 30 s of Late")
    assert rows["journal"] == ("ok", f"writable: {journal}")
    assert GOOD_KEY not in proc.stdout + proc.stderr


def test_doctor_fails_when_late_refuses_the_key(stand_in: str, tmp_path: Path) -> None:
    proc = late_mcp(
        "doctor",
        LATE_API_KEY=OTHER_KEY,
        LATE_BASE_URL=stand_in,
        LATE_JOURNAL_PATH=str(tmp_path / "journal.sqlite3"),
    )
    assert proc.returncode == 1
    rows = report(proc.stdout)
    assert rows["base URL"][0] == "ok"
    status, detail = rows["key accepted"]
    assert status == "FAIL" and detail.startswith("Late refused the key:") and "HTTP 401" in detail
    # What a key looks like, said as a fact about keys; what to do next here, where no server runs.
    assert "A Late API key starts with sk_ and has 67 characters; check LATE_API_KEY" in detail, detail
    assert detail.endswith("then run late-mcp doctor again.") and "restart" not in detail, detail
    assert "profiles" not in rows  # nothing more to learn without a key
    assert proc.stdout.splitlines()[-1].startswith("1 problem(s), 0 warning(s)")
    assert OTHER_KEY not in proc.stdout + proc.stderr


def test_doctor_reports_a_malformed_key_an_unreachable_url_and_an_unwritable_journal(tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = late_mcp(
        "doctor",
        LATE_API_KEY="sk_not-a-key",
        LATE_BASE_URL=f"http://127.0.0.1:{closed.getsockname()[1]}/api",
        LATE_JOURNAL_PATH=str(blocker / "journal.sqlite3"),
    )
    closed.close()
    assert proc.returncode == 1
    rows = report(proc.stdout)
    assert rows["key"][0] == "warn" and "does not look like a Late key" in rows["key"][1]
    assert rows["base URL"][0] == "FAIL" and rows["base URL"][1].startswith("cannot reach http://127.0.0.1:")
    assert rows["journal"][0] == "FAIL" and "Set LATE_JOURNAL_PATH to a writable file." in rows["journal"][1]
    assert "sk_not-a-key" not in proc.stdout + proc.stderr


def test_doctor_without_a_key_still_checks_the_url_the_clock_and_the_journal(
    stand_in: str, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite3"
    proc = late_mcp("doctor", LATE_BASE_URL=stand_in, LATE_JOURNAL_PATH=str(journal))
    assert proc.returncode == 1
    rows = report(proc.stdout)
    assert rows["key"][0] == "FAIL" and rows["key"][1].startswith("LATE_API_KEY is not set."), rows
    assert rows["base URL"] == ("ok", f"{stand_in} answers")
    assert rows["clock"][0] == "ok" and rows["clock"][1].startswith("within 30 s of Late")
    assert rows["journal"] == ("ok", f"writable: {journal}")
    assert "key accepted" not in rows  # the key line already says what is wrong
    assert proc.stdout.splitlines()[-1].startswith("1 problem(s), 0 warning(s)")


@pytest.mark.anyio
async def test_a_refused_key_over_mcp_says_what_a_key_looks_like() -> None:
    transport = httpx2.ASGITransport(app=create_sandbox_app(api_key=GOOD_KEY))
    async with Client(
        build_server(make_settings(api_key=OTHER_KEY), transport=transport), mode="legacy"
    ) as client:
        refused = await fails(client, "profiles_list")
    assert (
        "The API key was refused. A Late API key starts with sk_ and has 67 characters; check LATE_API_KEY"
        in (refused)
    )
    assert "(it starts with" not in refused and refused.endswith("then restart late-mcp.")
