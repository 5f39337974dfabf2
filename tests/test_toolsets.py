"""Toolsets: LATE_TOOLSETS / --toolsets choose tool domains; the default stays within its byte budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from mcp import Client

from conftest import make_settings, structured
from late_mcp.cli.call import select_tools
from late_mcp.config.settings import DEFAULT_TOOLSETS, TOOLSETS, ConfigError, Settings, read_toolsets
from late_mcp.server.build import build_server
from late_mcp.tools import ALL_TOOLS

pytestmark = pytest.mark.anyio
DEFAULT_BUDGET = 16_000
ALL_BUDGET = 26_000


async def tools_list(**kwargs: Any) -> list[dict[str, Any]]:
    settings = kwargs.pop("settings", make_settings(toolsets=None))
    async with Client(build_server(settings, **kwargs), mode="legacy") as client:
        return [
            t.model_dump(mode="json", by_alias=True, exclude_none=True)
            for t in (await client.list_tools()).tools
        ]


def size(tools: list[dict[str, Any]]) -> int:
    return len(json.dumps({"tools": tools}, separators=(",", ":")))


async def test_default_toolsets_fit_the_budget_and_cover_the_agency_workflow() -> None:
    tools = await tools_list()
    names = {t["name"] for t in tools}
    assert size(tools) <= DEFAULT_BUDGET, size(tools)
    assert names == {spec.name for spec in ALL_TOOLS if spec.domain in DEFAULT_TOOLSETS}
    workflow = {"profiles_create", "invites_create", "accounts_list", "media_upload_file", "posts_create"}
    safety = {"posts_validate", "posts_delete", "posts_logs", "queue_slots_set", "queue_preview"}
    assert workflow | safety <= names
    assert not names & {"analytics_report", "comments_reply", "journal_recent"}


async def test_all_toolsets_fit_the_budget() -> None:
    tools = await tools_list(settings=make_settings(toolsets=read_toolsets({"LATE_TOOLSETS": "all"})))
    assert size(tools) <= ALL_BUDGET, size(tools)
    assert {t["name"] for t in tools} == {spec.name for spec in ALL_TOOLS}


@pytest.mark.parametrize("domain", TOOLSETS)
async def test_each_toolset_offers_exactly_its_domain(domain: str) -> None:
    tools = await tools_list(toolsets=[domain])
    assert [t["name"] for t in tools] == [spec.name for spec in ALL_TOOLS if spec.domain == domain]


async def test_read_only_applies_on_top_of_the_selection() -> None:
    tools = await tools_list(toolsets=["comments", "queue"], read_only=True)
    assert {t["name"] for t in tools} == {"comments_list", "queue_slots_get", "queue_preview"}


async def test_settings_toolsets_are_the_servers_default_selection() -> None:
    tools = await tools_list(settings=make_settings(toolsets=("analytics",)))
    assert {t["name"] for t in tools} == {s.name for s in ALL_TOOLS if s.domain == "analytics"}


def test_every_declared_domain_is_a_known_toolset() -> None:
    assert {spec.domain for spec in ALL_TOOLS} == set(TOOLSETS)


def test_late_toolsets_is_read_by_the_settings_parser() -> None:
    assert read_toolsets({}) is None
    assert read_toolsets({"LATE_TOOLSETS": " Analytics, comments "}) == ("analytics", "comments")
    assert read_toolsets({"LATE_TOOLSETS": "all"}) == TOOLSETS
    assert read_toolsets({"LATE_TOOLSETS": "default,journal"}) == (*DEFAULT_TOOLSETS, "journal")
    env = {"LATE_TOOLSETS": "posts,stats", "LATE_SANDBOX": "on"}
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env)
    message = str(refused.value)
    assert message.startswith("LATE_TOOLSETS must be") and "unknown: stats" in message
    assert "profiles, invites, accounts, posts, media, queue, analytics, comments, journal" in message
    assert Settings.from_env({"LATE_TOOLSETS": "queue", "LATE_SANDBOX": "on"}).toolsets == ("queue",)


def test_cli_tools_listing_matches_the_server_selection() -> None:
    assert [s.name for s in select_tools(["default"])] == [
        s.name for s in ALL_TOOLS if s.domain in DEFAULT_TOOLSETS
    ]
    assert [s.name for s in select_tools(["all"])] == [s.name for s in ALL_TOOLS]


def late_mcp(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")} | env
    return subprocess.run(
        [sys.executable, "-m", "late_mcp.cli.main", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )


def test_cli_toolsets_option_and_variable() -> None:
    bad = late_mcp("--sandbox", "--toolsets", "posts,nope", "call", "posts_list")
    assert bad.returncode == 2 and "--toolsets must be a comma-separated list" in bad.stderr
    left_out = late_mcp("--sandbox", "call", "analytics_report", LATE_TOOLSETS="posts")
    assert (
        left_out.returncode == 2
        and "analytics toolset" in left_out.stderr
        and "add analytics" in left_out.stderr
    )
    ran = late_mcp("--sandbox", "call", "analytics_best_times")  # `call` offers every toolset by default
    assert ran.returncode == 0, ran.stderr
    assert "Best times" in ran.stdout


async def test_a_tool_of_a_toolset_left_out_names_the_toolset_and_how_to_turn_it_on(
    late_transport: Any,
) -> None:
    server = build_server(make_settings(toolsets=None), transport=late_transport)
    async with Client(server, mode="legacy") as client:
        instructions = client.instructions or ""
        analytics = await client.call_tool("analytics_report", {})
        unknown = await client.call_tool("analytics_nonsense", {})
    refused = "\n".join(getattr(block, "text", "") for block in analytics.content)
    assert analytics.is_error and refused.startswith("analytics_report is in the analytics toolset"), refused
    assert "LATE_TOOLSETS=default,analytics" in refused and "--toolsets default,analytics" in refused
    assert structured(analytics) == {"error": {"kind": "toolset_off", "retryable": False}}
    assert unknown.is_error and "Unknown tool: analytics_nonsense" in str(unknown.content)
    assert instructions.endswith(
        "Off here: the analytics, comments, journal toolsets (LATE_TOOLSETS turns them on)."
    )


async def test_the_toolset_hint_builds_on_the_selection_and_keeps_read_only_mode() -> None:
    settings = make_settings(toolsets=("posts",))
    async with Client(build_server(settings, read_only=True), mode="legacy") as client:
        comments_read = await client.call_tool("comments_list", {})
        comments_write = await client.call_tool("comments_reply", {})
    assert "LATE_TOOLSETS=posts,comments" in str(comments_read.content)
    # A read-only server would not offer the write tool with its toolset on either: no hint.
    assert "Unknown tool: comments_reply" in str(comments_write.content)
