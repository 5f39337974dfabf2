"""Late's browser upload flow: a link the person opens, then pending, completed or expired."""

from __future__ import annotations

import httpx2
import pytest
from mcp import Client

from conftest import fails, ok
from contract import ContractViolation, OpenAPIContract
from late_mcp.sandbox import SandboxState, create_sandbox_app

pytestmark = pytest.mark.anyio

FILES = [
    {"filename": "croissant.jpg", "mimeType": "image/jpeg", "size": 48213},
    {"filename": "oven.mp4", "mimeType": "video/mp4", "size": 9_000_000},
]


async def test_start_then_pending_then_completed(mcp: Client, state: SandboxState) -> None:
    started = await ok(mcp, "media_browser_upload_start")
    token, page = started["token"], started["upload_url"]
    late_token = page.rsplit("/", 1)[-1]  # the caller's token is Late's, bound to the caller
    assert page.startswith("http") and token.startswith(late_token + ".") and started["expires_at"]
    pending = await ok(mcp, "media_browser_upload_status", token=token)
    assert pending["status"] == "pending" and pending["files"] == []
    state.complete_browser_upload(late_token, FILES, "http://late.test")  # the person uploads two files
    done = await ok(mcp, "media_browser_upload_status", token=token)
    assert done["status"] == "completed"
    assert [(f["filename"], f["content_type"], f["media_type"], f["size_bytes"]) for f in done["files"]] == [
        ("croissant.jpg", "image/jpeg", "image", 48213),
        ("oven.mp4", "video/mp4", "video", 9_000_000),
    ]
    assert all(f["public_url"].startswith("http://late.test/") for f in done["files"])
    # The public URLs go straight into a post.
    draft = await ok(
        mcp,
        "posts_create",
        content="Fresh from the oven",
        accounts=["64b000000000000000000002"],
        media_urls=[done["files"][0]["public_url"]],
        is_draft=True,
    )
    assert draft["post"]["id"]


async def test_an_expired_link_says_so_and_an_unknown_token_is_refused(
    mcp: Client, state: SandboxState
) -> None:
    started = await ok(mcp, "media_browser_upload_start")
    state.expire_browser_upload(started["upload_url"].rsplit("/", 1)[-1])
    expired = await ok(mcp, "media_browser_upload_status", token=started["token"])
    assert expired["status"] == "expired" and expired["files"] == []
    asked = len(state.requests)
    message = await fails(mcp, "media_browser_upload_status", token="no-such-token")
    assert "not a browser-upload token this access token started" in message
    assert len(state.requests) == asked  # refused without asking Late
    assert "token is empty" in await fails(mcp, "media_browser_upload_status", token="  ")


async def test_the_sandbox_page_stands_in_for_the_person() -> None:
    app = create_sandbox_app(api_key="k" * 12)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://sb") as http:
        auth = {"Authorization": "Bearer " + "k" * 12}
        started = (await http.post("/api/v1/media/upload-token", headers=auth)).json()
        page = await http.get(started["uploadUrl"])
        assert page.status_code == 200 and "pending" in page.text
        uploaded = await http.post(started["uploadUrl"], json={"files": FILES[:1]})  # no key needed
        assert uploaded.status_code == 200 and uploaded.json()["status"] == "completed"
        again = await http.post(started["uploadUrl"], json={"files": FILES[:1]})
        assert again.status_code == 409
        status = await http.get(
            "/api/v1/media/upload-token", params={"token": started["token"]}, headers=auth
        )
        assert status.json()["files"][0]["filename"] == "croissant.jpg"
        assert (await http.get("/api/v1/media/upload-token", headers=auth)).status_code == 400


def test_the_contract_checks_the_endpoints_the_spec_lacks(contract: OpenAPIContract | None) -> None:
    if contract is None:
        pytest.skip("no OpenAPI spec")
    assert contract.check_request("POST", "/v1/media/upload-token", [], None) is not None
    assert contract.check_request("GET", "/v1/media/upload-token", [("token", "t")], None) is not None
    with pytest.raises(ContractViolation, match="missing required"):
        contract.check_request("GET", "/v1/media/upload-token", [], None)
    with pytest.raises(ContractViolation, match="unknown query"):
        contract.check_request("GET", "/v1/media/upload-token", [("token", "t"), ("x", "1")], None)
    with pytest.raises(ContractViolation, match="no request body"):
        contract.check_request("POST", "/v1/media/upload-token", [], {"a": 1})
