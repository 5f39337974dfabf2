"""One invites_create call for several platforms (issue 15, item 11), and answers that carry their
data once, in the text every client reads (item 24)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client

from conftest import TEST_KEY, call, fails, make_settings, ok, structured, text
from contract import ContractCheckingTransport, OpenAPIContract
from late_mcp.sandbox import SandboxState, create_sandbox_app
from late_mcp.sandbox.state import SEED_PROFILE_ACME, SEED_PROFILE_NORDIC
from late_mcp.server.build import build_server

pytestmark = pytest.mark.anyio
SIX = ["instagram", "facebook", "linkedin", "tiktok", "X", "youtube"]


class RefusesPlatform(httpx2.AsyncBaseTransport):
    """Late (the sandbox) behind a transport that answers invites for one platform with `status`:
    a 422 refusal (nothing made) or a 502 after sending (it may have been made)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, platform: str, status: int) -> None:
        self.inner, self.platform, self.status = inner, platform, status

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        invite = request.method == "POST" and request.url.path.endswith("/platform-invites")
        if invite and json.loads(request.content).get("platform") == self.platform:
            if self.status >= 500:
                await self.inner.handle_async_request(request)  # made, but the answer is lost
            body = {"error": f"{self.platform} invites are not available"}
            return httpx2.Response(self.status, json=body, request=request)
        return await self.inner.handle_async_request(request)


def open_invites(state: SandboxState, profile_id: str) -> list[str]:
    return sorted(i["platform"] for i in state.invites.values() if i["profileId"] == profile_id)


async def test_one_call_makes_an_invite_per_platform_compactly(mcp: Client, state: SandboxState) -> None:
    result = await call(mcp, "invites_create", profile_id=SEED_PROFILE_ACME, platforms=[*SIX, "twitter"])
    made = structured(result)
    # "X" and "twitter" are one platform: six invites, in the order asked, each link + expiry.
    assert [i["platform"] for i in made["invites"]] == [*SIX[:4], "twitter", "youtube"]
    assert all(set(i) == {"platform", "id", "invite_url"} for i in made["invites"])  # + one expiry
    assert made["expires_at"] == min(i["expiresAt"] for i in state.invites.values())
    assert made["profile_id"] == SEED_PROFILE_ACME and "failed" not in made
    assert open_invites(state, SEED_PROFILE_ACME) == sorted([*SIX[:4], "twitter", "youtube"])
    summary = text(result).split("\n", 1)[0]
    assert summary.startswith("6 invite links for instagram, facebook, linkedin, tiktok, twitter, youtube")
    assert "valid until" in summary and "send each to the client" in summary
    # Compact: besides the links, under 100 bytes an invite (one call each used to cost ~310).
    links = sum(len(i["invite_url"]) for i in made["invites"])
    assert len(text(result).encode()) - links < 6 * 90 + 250


async def test_a_platform_late_refuses_is_named_and_the_others_are_made(
    state: SandboxState, contract: OpenAPIContract | None
) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    late = ContractCheckingTransport(RefusesPlatform(httpx2.ASGITransport(app=app), "tiktok", 422), contract)
    async with Client(build_server(make_settings(), transport=late), mode="legacy") as client:
        made = await ok(
            client, "invites_create", profile_id=SEED_PROFILE_NORDIC, platforms=["tiktok", "threads"]
        )
        alone = await fails(client, "invites_create", profile_id=SEED_PROFILE_NORDIC, platforms=["tiktok"])
    assert [i["platform"] for i in made["invites"]] == ["threads"]
    assert (
        made["failed"] == [{"platform": "tiktok", "error": made["failed"][0]["error"], "may_exist": False}]
        and "tiktok invites are not available" in made["failed"][0]["error"]
    )
    assert open_invites(app.state.late, SEED_PROFILE_NORDIC) == ["threads"]
    # Nothing made at all: the refusal itself, with Late's words and status.
    assert "tiktok invites are not available" in alone and "HTTP 422" in alone


async def test_an_invite_whose_answer_was_lost_is_not_asked_for_again_blindly(
    contract: OpenAPIContract | None,
) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    late = ContractCheckingTransport(RefusesPlatform(httpx2.ASGITransport(app=app), "tiktok", 502), contract)
    settings = make_settings(retry_attempts=1)
    async with Client(build_server(settings, transport=late), mode="legacy") as client:
        result = await call(
            client, "invites_create", profile_id=SEED_PROFILE_NORDIC, platforms=["tiktok", "threads"]
        )
    made = structured(result)
    assert not result.is_error and [i["platform"] for i in made["invites"]] == ["threads"]
    assert made["failed"][0]["platform"] == "tiktok" and made["failed"][0]["may_exist"] is True
    assert "tiktok may exist anyway: check invites_list before asking again" in text(result)
    assert open_invites(app.state.late, SEED_PROFILE_NORDIC) == ["threads", "tiktok"]  # it was made


async def test_repeats_with_one_key_make_the_invites_once(mcp: Client, state: SandboxState) -> None:
    arguments: dict[str, Any] = {
        "profile_id": SEED_PROFILE_ACME,
        "platforms": ["instagram", "facebook", "linkedin"],
        "idempotency_key": "onboard-bakery-1",
    }
    answers: list[str] = []

    async def once() -> None:
        answers.append(text(await call(mcp, "invites_create", **arguments)))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(once)
    assert open_invites(state, SEED_PROFILE_ACME) == ["facebook", "instagram", "linkedin"]
    replayed = [a for a in answers if a.startswith("Replayed")]
    # A replay keeps no link: it names where the links are and how to get new ones.
    assert replayed and all("invites[].invite_url" in a and "https://" not in a for a in replayed)


async def test_every_answer_carries_its_data_once_in_the_text(mcp: Client) -> None:
    """Item 24: no structuredContent beside a text holding the same JSON; an error's kind, status
    and request id are on the text's last line; every tool of the default set answers this way."""
    listed = await call(mcp, "profiles_list")
    assert listed.structured_content is None and len(listed.content) == 1
    summary, data = text(listed).split("\n")
    assert summary.endswith("profiles.") and json.loads(data)["profiles"]
    refused = await call(mcp, "posts_get", post_id="0" * 24)
    assert refused.is_error and refused.structured_content is None
    words, detail = text(refused).rsplit("\n", 1)
    assert "0" * 24 in words and json.loads(detail)["error"]["status"] == 404
