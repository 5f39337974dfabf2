"""`late-mcp call` tables for the list tools whose sandbox lists start empty: posts and invites,
from the structured results of a real MCP session."""

from __future__ import annotations

import pytest
from mcp import Client

from conftest import ok
from late_mcp.cli.tables import list_table
from late_mcp.sandbox.state import SEED_ACCOUNT_ACME_TWITTER, SEED_PROFILE_ACME

pytestmark = pytest.mark.anyio


async def test_posts_and_invites_lists_print_their_natural_columns(mcp: Client) -> None:
    await ok(
        mcp,
        "posts_create",
        content="Fresh\ncroissants \x1b[31m",
        accounts=[SEED_ACCOUNT_ACME_TWITTER],
        is_draft=True,
    )
    await ok(mcp, "invites_create", profile_id=SEED_PROFILE_ACME, platforms=["instagram"])
    posts = list_table("posts_list", await ok(mcp, "posts_list"))
    invites = list_table("invites_list", await ok(mcp, "invites_list"))
    assert posts[0].split() == ["ID", "STATUS", "WHEN", "ACCOUNTS", "TEXT"]
    assert len(posts) == 2 and "twitter @acmebakery" in posts[1]
    # Outside text stays on its row: the line break is a space, the escape is shown, not sent.
    assert posts[1].endswith("Fresh croissants \\x1b[31m") and "\x1b" not in posts[1]
    assert invites[0].split() == ["ID", "PLATFORM", "CLIENT", "STATUS", "EXPIRES"]
    assert len(invites) == 2 and "instagram" in invites[1] and "Acme Bakery" in invites[1]
    assert list_table("profiles_get", {"profiles": [{"id": "x"}]}) == []
