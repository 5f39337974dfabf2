"""What the model sees: the tool list, its schemas and annotations (snapshot-pinned)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mcp import Client

from conftest import make_settings
from late_mcp.server.build import build_server

# One file per tool (tests/snapshots/tools/<name>.json), so a change to one tool is a diff in one file.
SNAPSHOTS = Path(__file__).parent / "snapshots" / "tools"
EXPECTED = {
    "profiles_list",
    "profiles_get",
    "profiles_create",
    "profiles_update",
    "profiles_delete",
    "invites_create",
    "invites_list",
    "invites_revoke",
    "accounts_connect_link",
    "accounts_list",
    "accounts_health",
    "accounts_disconnect",
    "posts_create",
    "posts_validate",
    "posts_platform_rules",
    "time_now",
    "posts_list",
    "posts_get",
    "posts_update",
    "posts_delete",
    "posts_retry",
    "media_upload_link",
    "media_upload_file",
    "media_browser_upload_start",
    "media_browser_upload_status",
    "posts_logs",
    "queue_slots_get",
    "queue_slots_set",
    "queue_preview",
    "usage_stats",
    "analytics_posts",
    "analytics_best_times",
    "accounts_followers",
    "analytics_report",
    "comments_list",
    "comments_reply",
    "comments_hide",
    "journal_recent",
}
REQUIRED = {
    "profiles_get": ["profile_id"],
    "profiles_create": ["name"],
    "profiles_update": ["profile_id"],
    "profiles_delete": ["profile_id"],
    "invites_create": ["profile_id", "platform"],
    "invites_revoke": ["invite_id"],
    "accounts_connect_link": ["profile_id", "platform"],
    "accounts_disconnect": ["account_id"],
    "posts_create": ["content", "accounts"],
    "posts_validate": ["content", "accounts"],
    "posts_platform_rules": ["platform"],
    "posts_get": ["post_id"],
    "posts_update": ["post_id"],
    "posts_delete": ["post_id"],
    "posts_retry": ["post_id"],
    "media_upload_link": ["filename"],
    "media_upload_file": ["path"],
    "media_browser_upload_status": ["token"],
    "posts_logs": ["post_id"],
    "queue_slots_get": ["profile_id"],
    "queue_slots_set": ["profile_id", "timezone", "slots"],
    "queue_preview": ["profile_id"],
    "analytics_report": ["profile_id", "from_date", "to_date"],
    "comments_reply": ["post_id", "comment_id", "text"],
    "comments_hide": ["post_id", "comment_id"],
}

pytestmark = pytest.mark.anyio


async def listed(client: Client) -> list[dict[str, Any]]:
    result = await client.list_tools()
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in result.tools]


async def test_lists_every_tool_with_valid_flat_schemas(mcp: Client) -> None:
    tools = await listed(mcp)
    assert {t["name"] for t in tools} == EXPECTED
    for tool in tools:
        schema = tool["inputSchema"]
        Draft202012Validator.check_schema(schema)
        dumped = json.dumps(schema)
        assert "$ref" not in dumped and "$defs" not in dumped, tool["name"]
        assert schema["type"] == "object"
        assert sorted(schema.get("required", [])) == sorted(REQUIRED.get(tool["name"], [])), tool["name"]
        for name, prop in schema["properties"].items():
            self_explanatory = {"page", "limit", "idempotency_key"}
            if tool["name"] != "posts_validate":  # takes posts_create's arguments, described there
                assert prop.get("description") or name in self_explanatory, (tool["name"], name)
        annotations = tool["annotations"]
        for hint in ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"):
            assert isinstance(annotations.get(hint), bool), (tool["name"], hint)
        assert tool["description"] and "\n" not in tool["description"]


async def test_platform_arguments_are_closed_enums(mcp: Client) -> None:
    tools = {t["name"]: t for t in await listed(mcp)}
    platform = tools["invites_create"]["inputSchema"]["properties"]["platform"]
    assert len(platform["enum"]) == 13 and "googlebusiness" in platform["enum"]


async def test_tools_list_matches_snapshot(mcp: Client) -> None:
    """Changing what the model sees must be deliberate: UPDATE_SNAPSHOTS=1 rewrites the files.
    A tool without a snapshot fails, and so does a snapshot of a tool that is gone."""
    tools = await listed(mcp)
    rewrite = os.environ.get("UPDATE_SNAPSHOTS") == "1"
    if rewrite:
        SNAPSHOTS.mkdir(parents=True, exist_ok=True)
        for stale in SNAPSHOTS.glob("*.json"):
            stale.unlink()
    changed, missing = [], []
    for tool in tools:
        current = json.dumps(tool, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        snapshot = SNAPSHOTS / f"{tool['name']}.json"
        if rewrite:
            snapshot.write_text(current, encoding="utf-8")
        if not snapshot.exists():
            missing.append(tool["name"])
        elif current != snapshot.read_text(encoding="utf-8"):
            changed.append(tool["name"])
    gone = sorted({p.stem for p in SNAPSHOTS.glob("*.json")} - {t["name"] for t in tools})
    assert not missing, f"no snapshot for {missing}: run with UPDATE_SNAPSHOTS=1 and review the files"
    assert not changed, f"tools/list changed for {changed}: review, then UPDATE_SNAPSHOTS=1"
    assert not gone, f"snapshots of tools that no longer exist: {gone} (UPDATE_SNAPSHOTS=1 removes them)"
    assert len(json.dumps({"tools": tools}, separators=(",", ":"))) <= 26_000


async def test_read_only_mode_keeps_only_read_only_tools() -> None:
    server = build_server(make_settings(), read_only=True)
    async with Client(server, mode="legacy") as client:
        tools = await listed(client)
    assert tools and all(t["annotations"]["readOnlyHint"] is True for t in tools)
    names = {t["name"] for t in tools}
    assert "posts_list" in names and "posts_create" not in names and "posts_delete" not in names
    assert "accounts_connect_link" not in names  # it starts a connection: a write
    assert "posts_validate" in names and "time_now" in names
