"""Late's publishing log of a post: why a post failed, and posts_get pointing there."""

from __future__ import annotations

import pytest
from mcp import Client

from conftest import fails, ok
from late_mcp.sandbox.state import SEED_ACCOUNT_ACME_LINKEDIN, SEED_ACCOUNT_ACME_TWITTER, SandboxState

pytestmark = pytest.mark.anyio


async def test_failed_post_log_is_read_and_posts_get_points_to_it(mcp: Client, state: SandboxState) -> None:
    created = await ok(
        mcp,
        "posts_create",
        content="Fresh bread",
        accounts=[SEED_ACCOUNT_ACME_TWITTER, SEED_ACCOUNT_ACME_LINKEDIN],
        scheduled_for="2030-01-02T09:00:00Z",
    )
    post_id = created["post"]["id"]
    state.fail_post(post_id, "LinkedIn access token was revoked", platforms=["linkedin"])
    state.fail_post(post_id, "Duplicate content is not allowed", platforms=["twitter"])
    got = await ok(mcp, "posts_get", post_id=post_id)
    assert got["post"]["status"] == "failed"
    result = await mcp.call_tool("posts_get", {"post_id": post_id})
    assert f"posts_logs(post_id={post_id})" in result.content[0].text  # type: ignore[union-attr]
    logs = await ok(mcp, "posts_logs", post_id=post_id)
    assert logs["post_id"] == post_id and len(logs["logs"]) == 2
    messages = {entry["platform"]: entry["error_message"] for entry in logs["logs"]}
    assert messages == {
        "linkedin": "LinkedIn access token was revoked",
        "twitter": "Duplicate content is not allowed",
    }
    assert all(entry["status"] == "failed" and entry["status_code"] == 400 for entry in logs["logs"])
    await ok(mcp, "posts_retry", post_id=post_id)
    after = await ok(mcp, "posts_logs", post_id=post_id, limit=2)
    assert [entry["action"] for entry in after["logs"]] == ["retry", "retry"]
    assert all(entry["status"] == "success" and entry["attempt"] == 2 for entry in after["logs"])


async def test_published_post_has_a_success_log_and_no_pointer(mcp: Client) -> None:
    created = await ok(mcp, "posts_create", content="Hi", accounts=[SEED_ACCOUNT_ACME_TWITTER], is_draft=True)
    result = await mcp.call_tool("posts_get", {"post_id": created["post"]["id"]})
    assert "posts_logs" not in result.content[0].text  # type: ignore[union-attr]
    logs = await ok(mcp, "posts_logs", post_id=created["post"]["id"])
    assert logs["logs"] == []


async def test_unknown_post_log_is_not_found(mcp: Client) -> None:
    message = await fails(mcp, "posts_logs", post_id="000000000000000000000000")
    assert "HTTP 404" in message
