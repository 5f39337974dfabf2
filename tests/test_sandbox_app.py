"""Direct HTTP tests of the sandbox Late API (no MCP layer involved)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from late_mcp.sandbox import SandboxState, create_sandbox_app
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_INSTAGRAM,
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_ACCOUNT_NORDIC_DEALS_TWITTER,
    SEED_ACCOUNT_NORDIC_YOUTUBE,
    SEED_PROFILE_ACME,
    SEED_PROFILE_NORDIC,
    SEED_QUEUE_ACME,
)

KEY = "sk_" + "0" * 64
AUTH = {"Authorization": f"Bearer {KEY}"}
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # a Wednesday; Amsterdam is UTC+1 then


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def state() -> SandboxState:
    return SandboxState(clock=lambda: NOW)


@pytest.fixture
def app(state: SandboxState) -> Starlette:
    return create_sandbox_app(KEY, state=state)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(
        transport=transport, base_url="http://sandbox.late.invalid/api/", headers=AUTH
    ) as c:
        yield c


def _keyless(app: Starlette) -> httpx2.AsyncClient:
    """A client without the API key: the invited person, or the storage host of presigned uploads."""
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app))


async def _post(client: httpx2.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("content", "Fresh bread!")
    body.setdefault("platforms", [{"platform": "twitter", "accountId": SEED_ACCOUNT_ACME_TWITTER}])
    response = await client.post("v1/posts", json=body)
    assert response.status_code == 201, response.text
    post: dict[str, Any] = response.json()["post"]
    return post


@pytest.mark.anyio
async def test_auth_request_id_and_rate_limit_headers(
    client: httpx2.AsyncClient, state: SandboxState
) -> None:
    bare = await client.get("v1/profiles", headers={"Authorization": "Bearer wrong"})
    assert bare.status_code == 401
    assert bare.json() == {"error": "Invalid or missing API key"}
    assert KEY not in bare.text and "wrong" not in bare.text
    ok = await client.get("v1/profiles", headers={"X-Request-Id": "abc-123"})
    assert ok.status_code == 200
    assert ok.headers["X-Request-Id"] == "abc-123"
    assert ok.headers["X-RateLimit-Limit"] == "600"
    assert int(ok.headers["X-RateLimit-Remaining"]) == 598
    assert int(ok.headers["X-RateLimit-Reset"]) == int(NOW.timestamp()) // 60 * 60 + 60
    assert bare.headers["X-Request-Id"]
    assert state.requests == [("GET", "/api/v1/profiles")] * 2


@pytest.mark.anyio
async def test_no_key_means_open_and_errors_are_json(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_sandbox_app()
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://sandbox.late.invalid/api/"
    ) as c:
        assert (await c.get("v1/profiles")).status_code == 200
        missing = await c.get("v1/nothing-here")
        assert missing.status_code == 404 and "error" in missing.json()
        bad_json = await c.post("v1/profiles", content=b"{nope", headers={"Content-Type": "application/json"})
        assert bad_json.status_code == 400 and "JSON" in bad_json.json()["error"]

        def boom() -> list[dict[str, Any]]:
            raise RuntimeError("kaboom")

        monkeypatch.setattr(app.state.late, "list_profiles", boom)
        crashed = await c.get("v1/profiles")
        assert crashed.status_code == 500
        assert crashed.json() == {"error": "Sandbox internal error"}


@pytest.mark.anyio
async def test_profiles_crud(client: httpx2.AsyncClient) -> None:
    names = [p["name"] for p in (await client.get("v1/profiles")).json()["profiles"]]
    assert names == ["Acme Bakery", "Nordic Outdoor"]
    assert (await client.post("v1/profiles", json={"name": "x" * 101})).status_code == 400
    assert (await client.post("v1/profiles", json={"name": "  "})).status_code == 400
    created = await client.post("v1/profiles", json={"name": "Cafe", "color": "#123456"})
    assert created.status_code == 201
    profile = created.json()["profile"]
    assert len(profile["_id"]) == 24 and profile["createdAt"] == "2026-11-18T10:00:00.000Z"
    updated = await client.put(f"v1/profiles/{profile['_id']}", json={"isDefault": True})
    assert updated.json()["profile"]["isDefault"] is True
    acme = (await client.get(f"v1/profiles/{SEED_PROFILE_ACME}")).json()["profile"]
    assert acme["isDefault"] is False
    refused = await client.delete(f"v1/profiles/{SEED_PROFILE_ACME}")
    assert refused.status_code == 400
    assert refused.json() == {"error": "Profile has connected accounts; disconnect them first"}
    assert (await client.delete(f"v1/profiles/{profile['_id']}")).status_code == 200
    gone = await client.get(f"v1/profiles/{profile['_id']}")
    assert gone.status_code == 404 and gone.json() == {"error": "Profile not found"}


@pytest.mark.anyio
async def test_accounts_health_and_connect(client: httpx2.AsyncClient, state: SandboxState) -> None:
    body = (await client.get("v1/accounts", params={"profileId": SEED_PROFILE_NORDIC})).json()
    assert body["hasAnalyticsAccess"] is False
    assert [a["username"] for a in body["accounts"] if a["platform"] == "twitter"] == [
        "nordicoutdoor",
        "nordic_deals",
    ]
    assert body["accounts"][0]["profileId"] == {
        "_id": SEED_PROFILE_NORDIC,
        "name": "Nordic Outdoor",
        "color": "#a0d8ff",
    }
    health = (await client.get("v1/accounts/health")).json()
    assert health["summary"] == {"total": 8, "healthy": 7, "warning": 1, "error": 0, "needsReconnect": 0}
    youtube = next(a for a in health["accounts"] if a["accountId"] == SEED_ACCOUNT_NORDIC_YOUTUBE)
    assert youtube["status"] == "warning" and youtube["issues"] == ["Token expires within 24 hours"]

    assert (
        await client.get("v1/connect/myspace", params={"profileId": SEED_PROFILE_ACME})
    ).status_code == 400
    assert (await client.get("v1/connect/tiktok")).status_code == 400
    assert (await client.get("v1/connect/tiktok", params={"profileId": "f" * 24})).status_code == 404
    started = (await client.get("v1/connect/tiktok", params={"profileId": SEED_PROFILE_ACME})).json()
    assert started["authUrl"].startswith("http://sandbox.late.invalid/sandbox/oauth/tiktok?state=")
    done = await client.get(started["authUrl"])
    assert done.status_code == 200 and done.json()["account"]["platform"] == "tiktok"

    assert (await client.delete(f"v1/accounts/{SEED_ACCOUNT_ACME_INSTAGRAM}")).json() == {
        "message": "Account disconnected"
    }
    assert (await client.delete(f"v1/accounts/{SEED_ACCOUNT_ACME_INSTAGRAM}")).status_code == 404


@pytest.mark.anyio
async def test_platform_invites(client: httpx2.AsyncClient, state: SandboxState, app: Starlette) -> None:
    assert (
        await client.post("v1/platform-invites", json={"profileId": SEED_PROFILE_ACME})
    ).status_code == 400
    unknown = await client.post("v1/platform-invites", json={"profileId": "f" * 24, "platform": "reddit"})
    assert unknown.status_code == 404
    made = await client.post(
        "v1/platform-invites", json={"profileId": SEED_PROFILE_ACME, "platform": "reddit"}
    )
    assert made.status_code == 200
    invite = made.json()["invite"]
    assert invite["profileId"] == {"_id": SEED_PROFILE_ACME, "name": "Acme Bakery"}
    assert invite["expiresAt"] == "2026-11-25T10:00:00.000Z"
    assert (
        invite["inviteUrl"]
        == f"http://sandbox.late.invalid/api/v1/platform-invites/{invite['token']}/connect"
    )
    listed = (await client.get("v1/platform-invites", params={"profileId": SEED_PROFILE_ACME})).json()[
        "invites"
    ]
    assert [i["_id"] for i in listed] == [invite["_id"]] and "inviteUrl" not in listed[0]

    result = state.accept_invite(invite["token"])
    assert result["account"]["username"] == "client_reddit"
    assert result["account"]["profileId"]["_id"] == SEED_PROFILE_ACME
    assert (await client.delete("v1/platform-invites", params={"id": invite["_id"]})).status_code == 404
    assert (await client.delete("v1/platform-invites")).status_code == 400

    second = await client.post(
        "v1/platform-invites", json={"profileId": SEED_PROFILE_ACME, "platform": "bluesky"}
    )
    link = second.json()["invite"]["inviteUrl"]
    async with _keyless(app) as anonymous:
        opened = await anonymous.get(link)
    assert opened.status_code == 200 and opened.json()["account"]["platform"] == "bluesky"


@pytest.mark.anyio
async def test_post_statuses(client: httpx2.AsyncClient) -> None:
    assert (await _post(client))["status"] == "draft"
    assert (await _post(client, isDraft=True, publishNow=True))["status"] == "draft"
    published = await _post(client, publishNow=True)
    entry = published["platforms"][0]
    assert published["status"] == entry["status"] == "published"
    assert (
        entry["accountId"]["_id"] == SEED_ACCOUNT_ACME_TWITTER
        and entry["accountId"]["username"] == "acmebakery"
    )
    assert entry["platformPostUrl"] == f"https://x.com/acmebakery/status/{entry['platformPostId']}"
    naive = await _post(client, scheduledFor="2026-12-01T09:30:00", timezone="Europe/Amsterdam")
    assert naive["status"] == "scheduled" and naive["scheduledFor"] == "2026-12-01T08:30:00.000Z"
    past = await client.post(
        "v1/posts",
        json={
            "content": "x",
            "scheduledFor": "2026-11-18T09:00:00Z",
            "platforms": [{"platform": "twitter", "accountId": SEED_ACCOUNT_ACME_TWITTER}],
        },
    )
    assert past.status_code == 400 and past.json()["error"].startswith("scheduledFor must be in the future")
    queued = await _post(client, queuedFromProfile=SEED_PROFILE_ACME)
    assert queued["scheduledFor"] == "2026-11-18T14:00:00.000Z" and queued["queueId"] == SEED_QUEUE_ACME
    again = await _post(client, queuedFromProfile=SEED_PROFILE_ACME)
    assert again["scheduledFor"] == "2026-11-19T08:00:00.000Z"
    next_slot = (await client.get("v1/queue/next-slot", params={"profileId": SEED_PROFILE_ACME})).json()
    assert next_slot["nextSlot"] == "2026-11-19T14:00:00.000Z" and next_slot["timezone"] == "Europe/Amsterdam"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"content": "x", "platforms": []}, "platforms"),
        (
            {"content": "", "platforms": [{"platform": "twitter", "accountId": SEED_ACCOUNT_ACME_TWITTER}]},
            "content",
        ),
        (
            {
                "content": "x",
                "platforms": [{"platform": "instagram", "accountId": SEED_ACCOUNT_ACME_TWITTER}],
            },
            "twitter",
        ),
        ({"content": "x", "platforms": [{"platform": "twitter", "accountId": "f" * 24}]}, "not found"),
        (
            {"content": "x", "platforms": [{"platform": "x", "accountId": SEED_ACCOUNT_ACME_TWITTER}]},
            "one of",
        ),
        ({"content": "x", "mediaItems": [{"type": "pic", "url": "https://a.b/c.jpg"}]}, "mediaItems[0].type"),
        ({"content": "x", "mediaItems": [{"type": "image", "url": "ftp://a.b/c.jpg"}]}, "mediaItems[0].url"),
        ({"content": "x", "scheduledFor": "tomorrow"}, "ISO 8601"),
        ({"content": "x", "scheduledFor": "2027-01-01T00:00:00", "timezone": "Mars/Base"}, "timezone"),
    ],
)
async def test_post_validation(client: httpx2.AsyncClient, body: dict[str, Any], needle: str) -> None:
    body.setdefault("platforms", [{"platform": "twitter", "accountId": SEED_ACCOUNT_NORDIC_DEALS_TWITTER}])
    response = await client.post("v1/posts", json=body)
    assert response.status_code == 400
    assert needle in response.json()["error"]


@pytest.mark.anyio
async def test_post_list_update_delete_retry(client: httpx2.AsyncClient, state: SandboxState) -> None:
    first = await _post(client, content="one")
    second = await _post(
        client, content="two", platforms=[{"platform": "youtube", "accountId": SEED_ACCOUNT_NORDIC_YOUTUBE}]
    )
    page = (await client.get("v1/posts", params={"limit": 1})).json()
    assert [p["_id"] for p in page["posts"]] == [second["_id"]]
    assert page["pagination"] == {"page": 1, "limit": 1, "total": 2, "pages": 2}
    acme = (await client.get("v1/posts", params={"profileId": SEED_PROFILE_ACME})).json()["posts"]
    assert [p["_id"] for p in acme] == [first["_id"]]
    assert (await client.get("v1/posts", params={"platform": "youtube"})).json()["pagination"]["total"] == 1
    assert (await client.get("v1/posts", params={"limit": 101})).status_code == 400

    later = (NOW + timedelta(days=2)).isoformat()
    edited = (
        await client.put(f"v1/posts/{first['_id']}", json={"content": "uno", "scheduledFor": later})
    ).json()
    assert edited["post"]["status"] == "scheduled" and edited["post"]["content"] == "uno"

    state.fail_post(first["_id"], "Twitter said no")
    failed = (await client.get(f"v1/posts/{first['_id']}")).json()["post"]
    assert failed["status"] == "failed" and failed["platforms"][0]["errorCategory"] == "platform_error"
    assert (await client.post(f"v1/posts/{second['_id']}/retry")).status_code == 400
    retried = (await client.post(f"v1/posts/{first['_id']}/retry")).json()["post"]
    assert retried["status"] == "published" and "errorMessage" not in retried["platforms"][0]

    refused = await client.put(f"v1/posts/{first['_id']}", json={"content": "late"})
    assert refused.status_code == 400 and "this post is published" in refused.json()["error"]
    assert (await client.delete(f"v1/posts/{first['_id']}")).json() == {
        "error": "Published posts cannot be deleted"
    }
    assert (await client.delete(f"v1/posts/{second['_id']}")).status_code == 200
    assert (await client.get(f"v1/posts/{second['_id']}")).status_code == 404
    usage = (await client.get("v1/usage-stats")).json()
    assert (
        usage["planName"] == "Sandbox" and usage["usage"]["profiles"] == 2 and usage["usage"]["uploads"] == 1
    )


@pytest.mark.anyio
async def test_presign_and_upload(client: httpx2.AsyncClient, state: SandboxState, app: Starlette) -> None:
    bad = await client.post("v1/media/presign", json={"filename": "a.bmp", "contentType": "image/bmp"})
    assert bad.status_code == 400 and "image/png" in bad.json()["error"]
    too_big = {"filename": "a.mp4", "contentType": "video/mp4", "size": 5 * 1024**3 + 1}
    assert (await client.post("v1/media/presign", json=too_big)).status_code == 400
    grant = (
        await client.post("v1/media/presign", json={"filename": "cake.gif", "contentType": "image/gif"})
    ).json()
    assert (
        grant["type"] == "image"
        and grant["key"].startswith("uploads/")
        and grant["key"].endswith("/cake.gif")
    )
    assert grant["publicUrl"] == f"http://sandbox.late.invalid/sandbox-media/{grant['key']}"

    data = b"GIF89a" + b"\x00" * 1000
    async with _keyless(app) as storage:
        leaked = await storage.put(grant["uploadUrl"], content=data, headers=AUTH)
        assert leaked.status_code == 400
        assert leaked.json() == {"error": "Presigned uploads must not carry credentials"}

        async def chunks() -> AsyncIterator[bytes]:
            yield data

        assert (await storage.put(grant["uploadUrl"], content=chunks())).status_code == 411
        unknown = grant["uploadUrl"].replace(grant["key"], "uploads/nope/x.gif")
        assert (await storage.put(unknown, content=data)).status_code == 404
        done = await storage.put(grant["uploadUrl"], content=data, headers={"Content-Type": "image/gif"})
        assert done.status_code == 200 and done.content == b""
        info = (await storage.get(grant["publicUrl"])).json()
    assert info == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "contentType": "image/gif"}
    assert state.uploads[grant["key"]] == info


@pytest.mark.anyio
async def test_next_slot_errors(client: httpx2.AsyncClient) -> None:
    assert (await client.get("v1/queue/next-slot")).status_code == 400
    assert (await client.get("v1/queue/next-slot", params={"profileId": "f" * 24})).status_code == 404
    fresh = (await client.post("v1/profiles", json={"name": "No queue"})).json()["profile"]
    no_queue = await client.get("v1/queue/next-slot", params={"profileId": fresh["_id"]})
    assert no_queue.status_code == 404
