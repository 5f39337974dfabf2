"""The edges of time, text and files (issue 13, items 17-19), through real MCP sessions.

17. A local time the clocks skip (spring forward) or show twice (fall back) is refused before any
    request, naming the valid times; the fix is a time with its offset.
18. Text made only of invisible characters counts as empty wherever text is required.
19. Over stdio, without LATE_MEDIA_DIRS or roots, only the usual media folders may be read (never
    the whole home folder); the refusal says how to allow another; a hard-linked file is refused.
"""

from __future__ import annotations

import calendar
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import pytest
from mcp import Client

from conftest import TEST_KEY, fails, make_settings, ok, structured_raw
from contract import ContractCheckingTransport
from late_mcp.config.settings import Settings
from late_mcp.sandbox import SandboxState, create_sandbox_app
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_FACEBOOK,
    SEED_ACCOUNT_ACME_INSTAGRAM,
    SEED_ACCOUNT_ACME_TWITTER,
)
from late_mcp.server.build import build_server
from standin import served
from test_stdio import StdioSession, server_env

pytestmark = pytest.mark.anyio

AMS = "Europe/Amsterdam"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
PDF = b"%PDF-1.4\n% account 0042 balance 1,234.56\n" + b"0" * 2000 + b"\n%%EOF\n"


def writes(state: SandboxState) -> list[tuple[str, str]]:
    """Every request that could change something at Late (anything but GET)."""
    return [r for r in state.requests if r[0] != "GET"]


# -- 17: times that do not exist, and times that happen twice -----------------------------------


def last_sunday(year: int, month: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - 6) % 7)


def next_eu_switches() -> tuple[date, date]:
    """The next spring-forward and fall-back Sundays in the EU that are safely in the future."""
    year = datetime.now(UTC).year + 1
    return last_sunday(year, 3), last_sunday(year, 10)


async def test_a_time_in_the_spring_gap_is_refused_naming_both_sides(
    mcp: Client, state: SandboxState
) -> None:
    spring, _ = next_eu_switches()
    day = f"{spring.day} {spring:%b %Y}"
    before = writes(state)
    for tool in ("posts_create", "posts_validate"):
        message = await fails(
            mcp,
            tool,
            content="Opening soon",
            accounts=[SEED_ACCOUNT_ACME_TWITTER],
            scheduled_for=f"{spring}T02:30",
            timezone=AMS,
        )
        assert f"02:30 does not exist on {day} in {AMS}" in message, message
        assert "clocks jump from 02:00 to 03:00" in message
        assert "use 01:59 CET or 03:00 CEST" in message
        assert f"'{spring}T01:59+01:00'" in message and f"'{spring}T03:00+02:00'" in message
    assert writes(state) == before and not state.posts
    # The fix the refusal names works and is sent as exactly that instant.
    fixed = await ok(
        mcp,
        "posts_create",
        content="Opening soon",
        accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for=f"{spring}T03:00+02:00",
        timezone=AMS,
    )
    sent = datetime.fromisoformat(fixed["post"]["scheduled_for"].replace("Z", "+00:00"))
    assert sent == datetime.fromisoformat(f"{spring}T01:00+00:00")


async def test_a_time_shown_twice_in_autumn_names_both_instants_and_asks(
    mcp: Client, state: SandboxState
) -> None:
    _, autumn = next_eu_switches()
    before = writes(state)
    for tool in ("posts_create", "posts_validate"):
        message = await fails(
            mcp,
            tool,
            content="Clocks go back tonight",
            accounts=[SEED_ACCOUNT_ACME_FACEBOOK],
            scheduled_for=f"{autumn}T02:30",
            timezone=AMS,
        )
        assert f"02:30 happens twice on {autumn.day} {autumn:%b %Y} in {AMS}" in message, message
        assert f"{autumn}T02:30+02:00 (CEST)" in message and f"{autumn}T02:30+01:00 (CET)" in message
        assert "1 h later" in message and "Ask which one is meant" in message
        assert "pass scheduled_for with its offset" in message
    assert writes(state) == before and not state.posts
    # Either instant, given with its offset, is taken as it is.
    for offset, utc_hour in (("+02:00", 0), ("+01:00", 1)):
        data = await ok(
            mcp,
            "posts_create",
            content=f"Clocks go back tonight {offset}",
            accounts=[SEED_ACCOUNT_ACME_FACEBOOK],
            scheduled_for=f"{autumn}T02:30{offset}",
            timezone=AMS,
        )
        sent = datetime.fromisoformat(data["post"]["scheduled_for"].replace("Z", "+00:00"))
        assert sent == datetime(autumn.year, autumn.month, autumn.day, utc_hour, 30, tzinfo=UTC)


async def test_times_next_to_the_switch_are_unchanged(mcp: Client) -> None:
    spring, autumn = next_eu_switches()
    eve = autumn - timedelta(days=1)
    for local, utc in (
        (f"{spring}T01:59", f"{spring}T00:59+00:00"),
        (f"{spring}T03:00", f"{spring}T01:00+00:00"),
        (f"{autumn}T01:59", f"{eve}T23:59+00:00"),  # still summer time: the evening before in UTC
        (f"{autumn}T03:00", f"{autumn}T02:00+00:00"),
    ):
        data = await ok(
            mcp, "posts_create", content=f"At {local}", accounts=[SEED_ACCOUNT_ACME_TWITTER],
            scheduled_for=local, timezone=AMS,
        )  # fmt: skip
        sent = datetime.fromisoformat(data["post"]["scheduled_for"].replace("Z", "+00:00"))
        assert sent == datetime.fromisoformat(utc), local


async def test_other_zones_and_half_hour_switches(mcp: Client, state: SandboxState) -> None:
    """New York's 02:00 gap, Lord Howe Island's half-hour switch both ways."""
    year = datetime.now(UTC).year + 1
    march = date(year, 3, 1)
    second_sunday = march + timedelta(days=(6 - march.weekday()) % 7 + 7)
    ny = await fails(
        mcp, "posts_validate", content="x", accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for=f"{second_sunday}T02:15", timezone="America/New_York",
    )  # fmt: skip
    assert "02:15 does not exist" in ny and "use 01:59 EST or 03:00 EDT" in ny
    assert f"'{second_sunday}T03:00-04:00'" in ny
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    # Its clocks go forward 30 min on the first Sunday of October at 02:00, back on the first of April.
    october = date(year, 10, 1)
    first_october = october + timedelta(days=(6 - october.weekday()) % 7)
    april = date(year, 4, 1)
    first_april = april + timedelta(days=(6 - april.weekday()) % 7)
    assert datetime(year, 10, first_october.day, 3, tzinfo=lord_howe).utcoffset() == timedelta(hours=11)
    gap = await fails(
        mcp, "posts_create", content="x", accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for=f"{first_october}T02:10", timezone="Australia/Lord_Howe",
    )  # fmt: skip
    assert "clocks jump from 02:00 to 02:30" in gap and f"'{first_october}T02:30+11:00'" in gap
    twice = await fails(
        mcp, "posts_create", content="x", accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for=f"{first_april}T01:45", timezone="Australia/Lord_Howe",
    )  # fmt: skip
    assert "30 min later" in twice
    assert f"{first_april}T01:45+11:00" in twice and f"{first_april}T01:45+10:30" in twice
    assert not writes(state)


async def test_late_timezone_default_is_checked_too(
    late_transport: ContractCheckingTransport, state: SandboxState
) -> None:
    """No timezone argument: the operator's LATE_TIMEZONE is the zone, and the gap is still refused."""
    spring, _ = next_eu_switches()
    server = build_server(make_settings(timezone=AMS), transport=late_transport)
    async with Client(server, mode="legacy") as client:
        message = await fails(
            client, "posts_create", content="x", accounts=[SEED_ACCOUNT_ACME_TWITTER],
            scheduled_for=f"{spring}T02:00",
        )  # fmt: skip
    assert f"02:00 does not exist on {spring.day} {spring:%b %Y} in {AMS}" in message
    assert not writes(state)


async def test_posts_update_refuses_a_gap_time_and_changes_nothing(mcp: Client, state: SandboxState) -> None:
    spring, autumn = next_eu_switches()
    created = await ok(
        mcp, "posts_create", content="Move me", accounts=[SEED_ACCOUNT_ACME_TWITTER],
        scheduled_for=f"{spring}T09:00", timezone=AMS,
    )  # fmt: skip
    post_id = created["post"]["id"]
    stored = json.dumps(state.posts[post_id], sort_keys=True, default=str)
    before = writes(state)
    gap = await fails(
        mcp, "posts_update", post_id=post_id, scheduled_for=f"{spring}T02:30"
    )  # the post's zone
    assert "02:30 does not exist" in gap and "use 01:59 CET or 03:00 CEST" in gap
    twice = await fails(mcp, "posts_update", post_id=post_id, scheduled_for=f"{autumn}T02:30", timezone=AMS)
    assert "happens twice" in twice and "+02:00" in twice and "+01:00" in twice
    assert writes(state) == before
    assert json.dumps(state.posts[post_id], sort_keys=True, default=str) == stored


# -- 18: invisible text is empty ---------------------------------------------------------------

INVISIBLE = {
    "zero width space": "\u200b",
    "joiners": "\u200c\u200d\u200b",
    "word joiner": "\u2060\u2060",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "mixed with spaces": " \u200b \u00a0\u3000\u200d\n",
    "variation selectors alone": "\ufe0f\ufe0e",
    "tags": "\U000e0041\U000e0042",
    "hangul filler": "\u3164",
    "braille blank": "\u2800",
    "combining marks alone": "\u0301\u0308",
    "bidi marks": "\u200e\u200f\u202a",
}


async def test_invisible_only_text_to_x_is_refused(mcp: Client, state: SandboxState) -> None:
    before = writes(state)
    in_three_days = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
    for name, content in INVISIBLE.items():
        for mode in ({"publish_now": True}, {"scheduled_for": in_three_days}):
            refused = await fails(
                mcp, "posts_create", content=content, accounts=[SEED_ACCOUNT_ACME_TWITTER], **mode
            )
            assert "Nothing was sent" in refused and "the X post has no visible characters" in refused, name
            assert "and no media" in refused and "Give it visible text or media" in refused, name
        validated = await ok(
            mcp, "posts_validate", content=content, accounts=[SEED_ACCOUNT_ACME_TWITTER], publish_now=True
        )
        assert validated["valid"] is False, name
        (problem,) = validated["problems"]
        assert problem["rule"] == "twitter.empty" and "no visible characters" in problem["message"], name
    assert writes(state) == before and not state.posts


async def test_the_refusal_names_the_invisible_characters(mcp: Client) -> None:
    message = await fails(
        mcp,
        "posts_create",
        content="\u200b\u2060\u200b",
        accounts=[SEED_ACCOUNT_ACME_TWITTER],
        publish_now=True,
    )
    assert "U+200B ZERO WIDTH SPACE" in message and "U+2060 WORD JOINER" in message
    plain = await fails(
        mcp, "posts_create", content="   ", accounts=[SEED_ACCOUNT_ACME_TWITTER], publish_now=True
    )
    assert "has no text and no media" in plain


async def test_invisible_per_platform_text_and_thread_parts(mcp: Client, state: SandboxState) -> None:
    custom = await fails(
        mcp, "posts_create", content="Visible for everyone else",
        accounts=[SEED_ACCOUNT_ACME_TWITTER, SEED_ACCOUNT_ACME_FACEBOOK],
        custom_content={"twitter": "\u200b\u200d"}, publish_now=True,
    )  # fmt: skip
    assert "1 platform rule broken" in custom and "the X post has no visible characters" in custom
    thread = await fails(
        mcp, "posts_create", content="Part one", accounts=[SEED_ACCOUNT_ACME_TWITTER],
        options={"twitter": {"thread": ["Part two", "\u2060\ufeff"]}}, publish_now=True,
    )  # fmt: skip
    assert "thread post 3 is empty: it has no visible characters" in thread
    assert "U+2060 WORD JOINER" in thread and "thread post 2" not in thread
    checked = await ok(
        mcp, "posts_validate", content="Part one", accounts=[SEED_ACCOUNT_ACME_TWITTER],
        options={"twitter": {"thread": ["\u200b"]}}, publish_now=True,
    )  # fmt: skip
    assert [p["rule"] for p in checked["problems"]] == ["twitter.thread_item_empty"]
    assert not writes(state) and not state.posts


async def test_invisible_text_with_media_and_visible_text_still_go(mcp: Client) -> None:
    """Invisible text is empty text, not an error of its own: with media, X takes a post without text;
    and text with a zero-width joiner inside an emoji is visible."""
    with_media = await ok(
        mcp, "posts_validate", content="\u200b", accounts=[SEED_ACCOUNT_ACME_TWITTER],
        media_urls=["https://cdn.example.com/a.jpg"], publish_now=True,
    )  # fmt: skip
    assert with_media["problems"] == []
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    for content in (family, "\u200bhello\u200b", "\u00e9", "\u0639"):
        assert (
            await ok(
                mcp, "posts_validate", content=content, accounts=[SEED_ACCOUNT_ACME_TWITTER], publish_now=True
            )
        )["problems"] == []


async def test_an_invisible_reply_is_refused_unsent(mcp: Client, state: SandboxState) -> None:
    listed = await ok(mcp, "comments_list", account_id=SEED_ACCOUNT_ACME_INSTAGRAM)
    post_id = listed["posts"][0]["id"]
    comment_id = (await ok(mcp, "comments_list", post_id=post_id))["comments"][0]["id"]
    message = await fails(mcp, "comments_reply", post_id=post_id, comment_id=comment_id, text="\u200b\u2060")
    assert "text is empty (no visible characters)" in message and "write the reply" in message
    assert not [r for r in state.requests if r[0] == "POST" and r[1].startswith("/api/v1/inbox/")]


# -- 19: only media folders by default, and no hard links ---------------------------------------

REFUSED = "Not an allowed file"


@pytest.fixture
async def session_for(late_transport: ContractCheckingTransport) -> AsyncIterator[Any]:
    """Open in-process sessions on servers with the given settings (stdio unless told otherwise)."""
    async with AsyncExitStack() as stack:

        async def open_session(**settings: Any) -> Client:
            server = build_server(make_settings(**settings), transport=late_transport)
            return await stack.enter_async_context(Client(server, mode="legacy"))

        yield open_session


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder of our own, with a statement in Documents and a photo in Pictures."""
    home = tmp_path / "home"
    for folder in ("Documents", "Pictures", "Downloads", "Desktop"):
        (home / folder).mkdir(parents=True)
    (home / "Documents" / "bank-statement.pdf").write_bytes(PDF)
    (home / "Pictures" / "photo.png").write_bytes(PNG)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return home


async def test_by_default_documents_are_refused_and_media_folders_allowed(
    session_for: Any, home: Path, state: SandboxState
) -> None:
    client = await session_for()  # stdio, no LATE_MEDIA_DIRS, a client without roots
    assert Settings.from_env({"LATE_SANDBOX": "on"}).media_dirs == ()
    for path in (home / "Documents" / "bank-statement.pdf", "~/Documents/bank-statement.pdf"):
        refused = await fails(client, "media_upload_file", path=str(path))
        assert refused.startswith(REFUSED), refused
        allowed = ", ".join(str(home / name) for name in ("Pictures", "Downloads", "Desktop"))
        assert f"inside the allowed folders ({allowed})" in refused  # no Movies or Videos: they don't exist
        assert f"LATE_MEDIA_DIRS=~/Pictures{os.pathsep}~/Documents/Social" in refused
        assert f"separated by {os.pathsep!r}" in refused and "bank" not in refused
    listed = await ok(client, "media_upload_file", path=[str(home / "Documents" / "bank-statement.pdf")] * 1
                      + [str(home / "Pictures" / "photo.png")])  # fmt: skip
    assert listed["uploaded"] == 1 and listed["files"][0]["error"].startswith(REFUSED)
    assert [u["size"] for u in state.uploads.values()] == [len(PNG)]  # the photo only


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG user dirs are read on Linux only")
async def test_xdg_user_dirs_are_used_but_never_the_home_folder(
    session_for: Any, home: Path, state: SandboxState
) -> None:
    (home / "Bilder").mkdir()
    (home / "Bilder" / "urlaub.png").write_bytes(PNG)
    (home / "notes.pdf").write_bytes(PDF)
    (home / ".config").mkdir()
    (home / ".config" / "user-dirs.dirs").write_text(
        "# written by xdg-user-dirs-update\n"
        'XDG_PICTURES_DIR="$HOME/Bilder"\n'
        'XDG_DOWNLOAD_DIR="$HOME"\n'  # a common way to switch a folder off: it must not allow the home
        'XDG_DESKTOP_DIR="$HOME/.secret"\n'
        'XDG_DOCUMENTS_DIR="$HOME/Documents"\n'  # not a media folder
    )
    (home / ".secret").mkdir()
    for name in ("Pictures", "Downloads", "Desktop"):
        shutil.rmtree(home / name)
    (home / "Desktop").symlink_to(home, target_is_directory=True)  # a link to the home is no narrower
    client = await session_for()
    refused = await fails(client, "media_upload_file", path=str(home / "notes.pdf"))
    assert f"inside the allowed folders ({home / 'Bilder'})" in refused
    assert REFUSED in await fails(client, "media_upload_file", path=str(home / "Desktop" / "notes.pdf"))
    assert REFUSED in await fails(
        client, "media_upload_file", path=str(home / "Documents" / "bank-statement.pdf")
    )
    assert (await ok(client, "media_upload_file", path=str(home / "Bilder" / "urlaub.png")))["size_bytes"]
    assert len(state.uploads) == 1


async def test_no_media_folder_at_all_allows_nothing_and_says_so(
    session_for: Any, home: Path, state: SandboxState
) -> None:
    for name in ("Pictures", "Downloads", "Desktop"):
        shutil.rmtree(home / name)
    client = await session_for()
    refused = await fails(client, "media_upload_file", path=str(home / "Documents" / "bank-statement.pdf"))
    assert "inside the allowed folders (none: no media folder was found)" in refused
    assert "LATE_MEDIA_DIRS" in refused and not state.uploads


async def test_a_hard_link_to_a_file_outside_is_refused(
    session_for: Any, tmp_path: Path, state: SandboxState
) -> None:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (outside / "secret-scan.pdf").write_bytes(PDF)
    os.link(outside / "secret-scan.pdf", allowed / "statement.pdf")
    (allowed / "photo.png").write_bytes(PNG)
    client = await session_for(media_dirs=(allowed,))
    refused = await fails(client, "media_upload_file", path=str(allowed / "statement.pdf"))
    assert "has 2 hard links" in refused and "not uploaded" in refused, refused
    assert "Copy it into the folder" in refused and "secret" not in refused and str(outside) not in refused
    many = await ok(
        client, "media_upload_file", path=[str(allowed / "statement.pdf"), str(allowed / "photo.png")]
    )
    assert many["uploaded"] == 1 and "has 2 hard links" in many["files"][0]["error"]
    assert [u["size"] for u in state.uploads.values()] == [len(PNG)]
    # Once the other name is gone the file is an ordinary one-link file again.
    (outside / "secret-scan.pdf").unlink()
    assert (await ok(client, "media_upload_file", path=str(allowed / "statement.pdf")))["size_bytes"] == len(
        PDF
    )


async def test_concurrent_uploads_of_linked_and_plain_files(
    session_for: Any, tmp_path: Path, state: SandboxState
) -> None:
    (tmp_path / "outside.png").write_bytes(PNG + b"outside")
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    os.link(tmp_path / "outside.png", allowed / "linked.png")
    for i in range(4):
        (allowed / f"plain{i}.png").write_bytes(PNG + bytes([i]) * (i + 1))
    client = await session_for(media_dirs=(allowed,))
    outcomes: dict[str, str] = {}

    async def upload(name: str) -> None:
        result = await client.call_tool("media_upload_file", {"path": str(allowed / name)})
        outcomes[name] = "refused" if result.is_error else "uploaded"

    async with anyio.create_task_group() as group:
        for name in ["linked.png", *(f"plain{i}.png" for i in range(4)), "linked.png"]:
            group.start_soon(upload, name)
    assert outcomes == {"linked.png": "refused", **{f"plain{i}.png": "uploaded" for i in range(4)}}
    assert sorted(u["size"] for u in state.uploads.values()) == [len(PNG) + i + 1 for i in range(4)]


@pytest.fixture
def http_sandbox() -> Iterator[tuple[str, SandboxState]]:
    """The sandbox on a loopback port: its API base URL and its state."""
    app = create_sandbox_app(api_key=TEST_KEY)
    with served(app) as base:
        yield base + "/api", app.state.late


def upload_over_stdio(env: dict[str, str], paths: list[str]) -> list[dict[str, Any]]:
    """Start `python -m late_mcp` on stdio, call media_upload_file once per path, stop it."""
    session = StdioSession(env)
    try:
        hello = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        }
        session.request(1, "initialize", hello)
        session.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return [
            session.request(n, "tools/call", {"name": "media_upload_file", "arguments": {"path": path}})[
                "result"
            ]
            for n, path in enumerate(paths, start=2)
        ]
    finally:
        stderr = session.close()
        assert "Traceback" not in stderr and TEST_KEY not in stderr


def test_a_real_stdio_server_keeps_documents_out_until_allowed(
    http_sandbox: tuple[str, SandboxState], tmp_path: Path
) -> None:
    base, state = http_sandbox
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    (home / "Pictures").mkdir()
    (home / "Documents" / "bank-statement.pdf").write_bytes(PDF)
    (home / "Pictures" / "photo.png").write_bytes(PNG)
    os.link(home / "Documents" / "bank-statement.pdf", home / "Pictures" / "not-a-photo.pdf")
    env = server_env(
        LATE_API_KEY=TEST_KEY, LATE_BASE_URL=base, LATE_JOURNAL_PATH=str(tmp_path / "journal.sqlite3"),
        HOME=str(home),
    )  # fmt: skip
    env.pop("XDG_CONFIG_HOME", None)
    statement, linked, photo = upload_over_stdio(
        env,
        [
            "~/Documents/bank-statement.pdf",
            str(home / "Pictures" / "not-a-photo.pdf"),
            "~/Pictures/photo.png",
        ],
    )
    assert statement["isError"] is True
    refusal = statement["content"][0]["text"]
    assert refusal.startswith(REFUSED) and f"inside the allowed folders ({home / 'Pictures'})" in refusal
    assert "LATE_MEDIA_DIRS=" in refusal and "then restart the server" in refusal
    assert linked["isError"] is True and "has 2 hard links" in linked["content"][0]["text"]
    assert not photo.get("isError") and structured_raw(photo)["size_bytes"] == len(PNG)
    assert [u["size"] for u in state.uploads.values()] == [len(PNG)]
    # What the refusal says to do works: allow Documents, and only then the statement goes.
    (home / "Pictures" / "not-a-photo.pdf").unlink()
    (allowed,) = upload_over_stdio(
        {**env, "LATE_MEDIA_DIRS": str(home / "Documents")}, ["~/Documents/bank-statement.pdf"]
    )
    assert not allowed.get("isError"), allowed
    assert sorted(u["size"] for u in state.uploads.values()) == sorted([len(PNG), len(PDF)])
