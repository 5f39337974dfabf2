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
from late_mcp.tools import ALL_TOOLS

# One file per tool (tests/snapshots/tools/<name>.json), so a change to one tool is a diff in one file.
SNAPSHOTS = Path(__file__).parent / "snapshots" / "tools"
pytestmark = pytest.mark.anyio


async def listed(client: Client) -> list[dict[str, Any]]:
    result = await client.list_tools()
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in result.tools]


async def test_lists_every_tool_with_valid_flat_schemas(mcp: Client) -> None:
    tools = await listed(mcp)
    # Every tool has its snapshot and every snapshot its tool (the snapshot test says which differ).
    assert {t["name"] for t in tools} == {p.stem for p in SNAPSHOTS.glob("*.json")}
    for tool in tools:
        schema = tool["inputSchema"]
        Draft202012Validator.check_schema(schema)
        dumped = json.dumps(schema)
        assert "$ref" not in dumped and "$defs" not in dumped, tool["name"]
        assert schema["type"] == "object"
        required = set(schema.get("required", []))
        assert required <= set(schema["properties"]), tool["name"]
        assert all("default" not in schema["properties"][name] for name in required), tool["name"]
        for name, prop in schema["properties"].items():
            self_explanatory = {"page", "limit", "idempotency_key", "confirm"}
            if tool["name"] != "posts_validate":  # takes posts_create's arguments, described there
                assert prop.get("description") or name in self_explanatory, (tool["name"], name)
        annotations = tool["annotations"]
        # A read says it only reads; it leaves out the two hints the spec gives meaning only for
        # writes, and openWorldHint unless it does not reach Late (the spec's default is true).
        # A write states destructiveHint and openWorldHint; readOnlyHint and idempotentHint appear
        # only when true (false is both the spec's default and what a missing field reads as).
        if annotations.get("readOnlyHint"):
            assert set(annotations) <= {"readOnlyHint", "openWorldHint"}, tool["name"]
            local = {spec.name for spec in ALL_TOOLS if spec.kind == "local"}  # answered without Late
            assert annotations.get("openWorldHint", True) is (tool["name"] not in local), tool["name"]
        else:
            assert "readOnlyHint" not in annotations and annotations.get("idempotentHint") in (None, True)
            for hint in ("openWorldHint", "destructiveHint"):
                assert isinstance(annotations.get(hint), bool), (tool["name"], hint)
        assert tool["description"] and "\n" not in tool["description"]


async def test_platform_arguments_are_closed_enums(mcp: Client) -> None:
    tools = {t["name"]: t for t in await listed(mcp)}
    platform = tools["accounts_connect_link"]["inputSchema"]["properties"]["platform"]
    assert len(platform["enum"]) == 13 and "googlebusiness" in platform["enum"]
    platform = tools["invites_create"]["inputSchema"]["properties"]["platforms"]["items"]
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
