"""MCP Apps through a real MCP client session: the extension negotiated, `_meta.ui.resourceUri` on
the tools that carry an app, `resources/read` serving each app as one self-contained document, and
the same tools answering in text for a client without Apps."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp_types import TextResourceContents

from conftest import call, make_settings, ok, text
from contract import ContractCheckingTransport
from late_mcp.apps import APP_NAMES, MAX_APP_BYTES, app_uri
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_LINKEDIN,
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_ACCOUNT_NORDIC_TWITTER,
    SEED_PROFILE_ACME,
)
from late_mcp.server.build import build_server
from late_mcp.tools import ALL_TOOLS

pytestmark = pytest.mark.anyio
AUCKLAND = "Pacific/Auckland"
# What a host that renders MCP Apps advertises (the extension's settings name the MIME type).
APPS_CLIENT = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
UI_TOOLS = {spec.name: spec.app for spec in ALL_TOOLS if spec.app}


@pytest.fixture
async def apps_host(late_transport: ContractCheckingTransport, tmp_path: Path) -> AsyncIterator[Client]:
    """A session of a client that renders MCP Apps."""
    server = build_server(make_settings(media_dirs=(tmp_path,)), transport=late_transport)
    async with Client(server, extensions=[APPS_CLIENT]) as client:
        yield client


async def read_app(client: Client, uri: str) -> TextResourceContents:
    contents = (await client.read_resource(uri)).contents
    assert len(contents) == 1 and isinstance(contents[0], TextResourceContents)
    return contents[0]


async def test_the_apps_extension_is_negotiated(apps_host: Client) -> None:
    extensions = apps_host.server_capabilities.extensions or {}
    assert EXTENSION_ID in extensions


async def test_ui_tools_carry_their_app_and_the_rest_carry_none(apps_host: Client) -> None:
    # (posts_review joins these when it is merged: `app="preview"` in its declaration.)
    assert set(UI_TOOLS) >= {
        "posts_calendar", "posts_create", "posts_delete", "analytics_report", "media_upload_picker",
    }  # fmt: skip
    for tool in (await apps_host.list_tools()).tools:
        ui = (tool.meta or {}).get("ui")
        if tool.name in UI_TOOLS:
            assert ui == {"resourceUri": app_uri(UI_TOOLS[tool.name])}, tool.name
        else:
            assert ui is None, tool.name


async def test_each_app_is_one_self_contained_document(apps_host: Client) -> None:
    listed = {str(r.uri): r for r in (await apps_host.list_resources()).resources}
    for name in sorted(set(UI_TOOLS.values())):
        uri = app_uri(name)
        assert uri in listed and listed[uri].mime_type == APP_MIME_TYPE
        app = await read_app(apps_host, uri)
        assert app.mime_type == APP_MIME_TYPE
        html = app.text
        assert len(html.encode()) <= MAX_APP_BYTES, f"{name} is {len(html.encode())} bytes"
        assert html.startswith("<!doctype html>") and "<!--late:" not in html  # parts put inline
        assert "ui/initialize" in html and "prefers-color-scheme" in html
        # Nothing is loaded from anywhere: no remote src/href, no imports, no fonts.
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I), name
        assert not re.search(r"@import|@font-face|<link\b|\bimport\s*\(", html, re.I), name
        assert not re.search(r"<script[^>]+src", html, re.I), name
        csp = (app.meta or {})["ui"]["csp"]
        if name != "upload":  # only the upload picker sends anything anywhere (the presigned PUTs)
            assert csp["connectDomains"] == [], name


async def test_every_app_ships_is_used_and_stays_under_the_size_limit() -> None:
    from late_mcp.apps import app_html

    assert set(UI_TOOLS.values()) == set(APP_NAMES)
    for name in APP_NAMES:
        assert len(app_html(name).encode()) <= MAX_APP_BYTES, name


async def test_a_client_without_apps_gets_the_agenda_in_text(mcp: Client, state: SandboxState) -> None:
    moment = _soon(days=2, hour=9)
    await ok(mcp, "posts_create", content="Croissant day", accounts=[SEED_ACCOUNT_ACME_TWITTER],
             scheduled_for=moment.isoformat())  # fmt: skip
    result = await call(mcp, "posts_calendar", profile_id=SEED_PROFILE_ACME)
    shown = text(result)
    local = moment.astimezone(ZoneInfo("Europe/Amsterdam"))
    day = f"{local:%a} {local.day} {local:%b}: "
    assert day in shown and f'{local:%H:%M} scheduled twitter @acmebakery "Croissant day"' in shown
    assert "the calendar shows them" not in shown


async def test_a_client_with_apps_gets_a_short_text_and_the_days(apps_host: Client) -> None:
    moment = _soon(days=2, hour=9)
    await ok(apps_host, "posts_create", content="Croissant day", accounts=[SEED_ACCOUNT_ACME_TWITTER],
             scheduled_for=moment.isoformat())  # fmt: skip
    calendar = await ok(apps_host, "posts_calendar", profile_id=SEED_PROFILE_ACME)
    result = await call(apps_host, "posts_calendar", profile_id=SEED_PROFILE_ACME)
    assert "the calendar shows them" in text(result) and "Croissant" not in text(result).split("\n")[0]
    posts = [p for d in calendar["days"] for p in d["posts"]]
    assert [p["text"] for p in posts] == ["Croissant day"]


async def across_midnight_in_auckland(
    client: Client, state: SandboxState
) -> tuple[date, datetime, datetime, list[str]]:
    """Acme's queue in Pacific/Auckland, and two Acme posts an hour apart, two days from now: 23:30
    and 00:30 the next day there. Returns today there, the two moments and the posts' ids."""
    state.set_queue(SEED_PROFILE_ACME, AUCKLAND, [{"dayOfWeek": d, "time": "10:00"} for d in range(7)])
    zone = ZoneInfo(AUCKLAND)
    today = datetime.now(UTC).astimezone(zone).date()
    late_evening = datetime(today.year, today.month, today.day, 23, 30, tzinfo=zone) + timedelta(days=2)
    after_midnight = late_evening + timedelta(hours=1)
    ids = []
    for moment, words, account in (
        (late_evening, "Last bake of the day", SEED_ACCOUNT_ACME_TWITTER),
        (after_midnight, "Midnight loaf", SEED_ACCOUNT_ACME_LINKEDIN),
    ):
        utc = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
        made = await ok(client, "posts_create", content=words, accounts=[account], scheduled_for=utc)
        ids.append(made["post"]["id"])
    return today, late_evening, after_midnight, ids


async def test_the_calendar_puts_posts_on_the_clients_days_across_midnight_in_auckland(
    mcp: Client, state: SandboxState
) -> None:
    """Two posts an hour apart in UTC fall on two days in Auckland (UTC+13 in December)."""
    today, late_evening, after_midnight, _ = await across_midnight_in_auckland(mcp, state)
    calendar = await ok(mcp, "posts_calendar", profile_id=SEED_PROFILE_ACME)
    assert calendar["timezone"] == AUCKLAND and calendar["start"] == today.isoformat()
    by_day = {d["date"]: [(p["time"], p["text"], p["status"]) for p in d["posts"]] for d in calendar["days"]}
    first, second = late_evening.date().isoformat(), after_midnight.date().isoformat()
    assert by_day[first] == [("23:30", "Last bake of the day", "scheduled")]
    assert by_day[second] == [("00:30", "Midnight loaf", "scheduled")]
    assert sum(len(posts) for posts in by_day.values()) == 2
    # The queue's free 10:00 slots show as gaps, in Auckland time, on the days still ahead.
    days = {d["date"]: d for d in calendar["days"]}
    assert days[second]["free"] == ["10:00"]
    # Another client's post on the same evening is not in this client's calendar, even from a Late
    # that answers for every profile whatever profileId asked.
    theirs = late_evening.astimezone(UTC).isoformat().replace("+00:00", "Z")
    await ok(mcp, "posts_create", content="Nordic news", accounts=[SEED_ACCOUNT_NORDIC_TWITTER],
             scheduled_for=theirs)  # fmt: skip
    state.ignores_profile_filter = True
    month = await ok(mcp, "posts_calendar", profile_id=SEED_PROFILE_ACME, days=31, start=today.isoformat())
    assert len(month["days"]) == 31
    assert [p["text"] for d in month["days"] for p in d["posts"]] == ["Last bake of the day", "Midnight loaf"]


async def test_a_calendar_window_with_no_posts_says_so_and_bad_days_are_refused(mcp: Client) -> None:
    empty = await ok(mcp, "posts_calendar", profile_id=SEED_PROFILE_ACME, start="2020-01-06", days=7)
    assert [d["posts"] for d in empty["days"]] == [[]] * 7 and all(d["free"] == [] for d in empty["days"])
    refused = text(await call(mcp, "posts_calendar", profile_id=SEED_PROFILE_ACME, days=40))
    assert "days" in refused and "31" in refused


def _soon(*, days: int, hour: int) -> datetime:
    """A whole hour `days` from now, UTC."""
    now = datetime.now(UTC)
    return datetime(now.year, now.month, now.day, hour, tzinfo=UTC) + timedelta(days=days)


async def test_a_publish_preview_names_its_tool_and_where_each_feed_cuts_the_text(apps_host: Client) -> None:
    long_text = "Fresh bread " * 20  # 240 characters: past LinkedIn's fold, within every limit
    preview = await ok(apps_host, "posts_create", content=long_text, accounts=["linkedin", "twitter"],
                       profile_id=SEED_PROFILE_ACME, publish_now=True,
                       custom_content={"twitter": "Fresh bread"})  # fmt: skip
    assert preview["status"] == "preview" and preview["tool"] == "posts_create"
    by_platform = {t["account"]["platform"]: t for t in preview["preview"]["targets"]}
    assert by_platform["linkedin"]["fold"] == 210 and "fold" not in by_platform["twitter"]
    assert {t["zone"] for t in by_platform.values()} == {"Europe/Amsterdam"}  # the client's queue zone


async def test_the_report_carries_the_period_before_per_platform(mcp: Client) -> None:
    today = datetime.now(UTC).date()
    period = {"from_date": str(today - timedelta(days=29)), "to_date": str(today)}
    report = await ok(mcp, "analytics_report", profile_id=SEED_PROFILE_ACME, **period)
    before = {"from_date": str(today - timedelta(days=59)), "to_date": str(today - timedelta(days=30))}
    earlier = await ok(mcp, "analytics_report", profile_id=SEED_PROFILE_ACME, **before)
    assert report["previous"] == earlier["period"]
    assert report["previous_totals"] == earlier["totals"]
    assert report["previous_platforms"] == earlier["platforms"] and len(report["previous_platforms"]) == 4


async def test_the_upload_picker_points_a_client_without_apps_to_the_link_tools(
    mcp: Client, apps_host: Client
) -> None:
    without = text(await call(mcp, "media_upload_picker"))
    assert "This client shows no MCP Apps, so there is no picker here: use media_upload_link" in without
    shown = await ok(apps_host, "media_upload_picker")
    assert shown["accepted"]["image/png"] == "image" and shown["max_files"] == 20
    assert "The upload picker is open" in text(await call(apps_host, "media_upload_picker"))
