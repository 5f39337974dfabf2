"""Refusals that lead somewhere (issue 15, items 7, 9, 10), through a real MCP session.

- A 404 says which it is: an id that was not found (named, with the tool that lists them), or a
  feature this Late deployment or account does not offer (a route without ids in its path).
- A file outside the allowed folders is refused naming LATE_MEDIA_DIRS, offering
  media_browser_upload_start only while Late has not shown that it lacks that route.
- "Post to <client>'s instagram" with no instagram account names the open invite already sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from conftest import fails, make_settings, ok
from contract import ContractCheckingTransport, OpenAPIContract
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.state import SEED_PROFILE_ACME
from late_mcp.server.build import build_server

pytestmark = pytest.mark.anyio
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


class WithoutRoutes:
    """The sandbox with some routes removed, as a Late deployment that lacks them answers: 404."""

    def __init__(self, app: ASGIApp, removed: set[tuple[str, str]]) -> None:
        self.app, self.removed = app, removed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"]) in self.removed:
            await JSONResponse({"error": "Not Found"}, status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


REMOVED = {("POST", "/api/v1/media/upload-token"), ("GET", "/api/v1/analytics")}


@pytest.fixture
async def session_for(sandbox: Any, contract: OpenAPIContract | None) -> AsyncIterator[Callable[..., Any]]:
    """Sessions against the sandbox without REMOVED's routes; settings overrides per session."""
    transports: list[ContractCheckingTransport] = []
    async with AsyncExitStack() as stack:

        async def open_session(**overrides: Any) -> Client:
            transport = ContractCheckingTransport(
                httpx2.ASGITransport(app=WithoutRoutes(sandbox, REMOVED)), contract
            )
            transports.append(transport)
            server = build_server(make_settings(**overrides), transport=transport)
            return await stack.enter_async_context(Client(server, mode="legacy"))

        yield open_session
    for transport in transports:
        assert transport.violations == [], "requests the Late OpenAPI spec rejects"


# -- item 7: which 404 it is -------------------------------------------------------------------------


async def test_a_404_names_the_id_that_was_not_found(session_for: Any) -> None:
    client = await session_for()
    refused = await fails(client, "posts_get", post_id="abc")
    assert 'post_id "abc" was not found; posts_list shows the posts.' in refused
    assert "Check the id" not in refused and "does not offer" not in refused
    gone = await fails(client, "profiles_get", profile_id="nosuchprofile")
    assert 'profile_id "nosuchprofile" was not found; profiles_list shows the profiles.' in gone


async def test_a_404_on_a_route_without_ids_says_the_deployment_lacks_the_feature(session_for: Any) -> None:
    client = await session_for()
    browser = await fails(client, "media_browser_upload_start")
    offers = "This Late deployment or account does not offer browser uploads (media_browser_upload_start)"
    assert offers in browser
    assert "POST /v1/media/upload-token" in browser and "LATE_BASE_URL" in browser
    assert "Check the id" not in browser and "was not found" not in browser
    analytics = await fails(client, "analytics_posts", profile_id=SEED_PROFILE_ACME)
    assert "does not offer analytics (Late has no route for GET /v1/analytics)" in analytics
    assert "Check the id" not in analytics


# -- item 9: a file outside the allowed folders ------------------------------------------------------


async def test_outside_refusal_offers_the_browser_upload_only_while_it_works(
    session_for: Any, tmp_path: Path, state: SandboxState
) -> None:
    allowed, elsewhere = tmp_path / "allowed", tmp_path / "elsewhere"
    allowed.mkdir()
    elsewhere.mkdir()
    (elsewhere / "real.png").write_bytes(PNG)
    outside = [str(elsewhere / "real.png"), str(elsewhere / "missing.png"), "/etc/passwd.png"]
    client = await session_for(media_dirs=(allowed,))
    before = {await fails(client, "media_upload_file", path=path) for path in outside}
    assert len(before) == 1, before  # the same words for every outside path, existing or not
    (message,) = before
    assert "LATE_MEDIA_DIRS" in message and "media_browser_upload_start" in message

    await fails(client, "media_browser_upload_start")  # Late answers 404: it lacks the route
    after = {await fails(client, "media_upload_file", path=path) for path in outside}
    assert len(after) == 1, after
    (message,) = after
    assert message.startswith("Not an allowed file") and "LATE_MEDIA_DIRS" in message
    assert "media_browser_upload_start" not in message and "Ask the user for a file there." in message
    many = await fails(client, "media_upload_file", path=outside[:2])
    assert "media_browser_upload_start" not in many and "LATE_MEDIA_DIRS" in many
    assert not state.uploads


async def test_over_http_the_refusal_names_late_media_dirs_and_no_dead_browser_upload(
    session_for: Any, tmp_path: Path
) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    without_dirs = await session_for(transport="http")
    offered = await fails(without_dirs, "media_upload_file", path=str(tmp_path / "a.png"))
    assert "LATE_MEDIA_DIRS" in offered and "media_browser_upload_start" in offered
    await fails(without_dirs, "media_browser_upload_start")
    refused = await fails(without_dirs, "media_upload_file", path=str(tmp_path / "a.png"))
    assert "LATE_MEDIA_DIRS" in refused and "media_upload_link" in refused
    assert "media_browser_upload_start" not in refused

    (tmp_path / "dirs").mkdir()
    with_dirs = await session_for(transport="http", media_dirs=(tmp_path / "dirs",))
    await fails(with_dirs, "media_browser_upload_start")
    outside = await fails(with_dirs, "media_upload_file", path=str(tmp_path / "a.png"))
    assert outside.startswith("Not an allowed file") and str(tmp_path) not in outside
    assert "allow other folders with LATE_MEDIA_DIRS" in outside
    assert "media_browser_upload_start" not in outside


# -- item 10: the open invite is named ---------------------------------------------------------------


def _invite_lookups(state: SandboxState) -> int:
    return state.requests.count(("GET", "/api/v1/platform-invites"))


async def test_no_instagram_account_names_the_open_invite(mcp: Client, state: SandboxState) -> None:
    bakery = (await ok(mcp, "profiles_create", name="Bakkerij Jansen"))["profile"]["id"]
    post = {"content": "Vers brood!", "accounts": ["instagram"], "profile_id": bakery, "is_draft": True}

    first = await fails(mcp, "posts_validate", **post)
    assert "No instagram account is connected" in first and "invites_create" in first
    assert "still open" not in first

    other = (await ok(mcp, "profiles_create", name="Elsewhere"))["profile"]["id"]
    await ok(mcp, "invites_create", profile_id=other, platforms=["instagram"])  # another client's
    await ok(mcp, "invites_create", profile_id=bakery, platforms=["tiktok"])  # another platform
    revoked = (await ok(mcp, "invites_create", profile_id=bakery, platforms=["instagram"]))["invites"][0][
        "id"
    ]
    await ok(mcp, "invites_revoke", invite_id=revoked)
    assert "still open" not in await fails(mcp, "posts_validate", **post)

    invite = (await ok(mcp, "invites_create", profile_id=bakery, platforms=["instagram"]))["invites"][0]
    sent_on = f"{state.clock():%d %b %Y}"
    lookups = _invite_lookups(state)
    refused = await fails(mcp, "posts_create", **post)
    assert f"An invite for instagram was sent on {sent_on} and is still open" in refused
    assert f"invite_id {invite['id']}" in refused and revoked not in refused
    assert "wait for the client to connect" in refused
    assert "invites_revoke it and send a new one with invites_create" in refused
    assert _invite_lookups(state) == lookups + 1  # one extra request, in the refusal only
    assert not state.posts

    lookups = _invite_lookups(state)
    acme = {**post, "profile_id": SEED_PROFILE_ACME}
    await ok(mcp, "posts_validate", **acme)
    assert _invite_lookups(state) == lookups  # a post that resolves asks nothing more
