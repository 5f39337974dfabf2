"""The Late client at its transport boundary: errors, request ids, where the key goes."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from mcp import Client

from conftest import API_BASE, TEST_KEY, fails, make_settings
from late_mcp.late.client import LateClient
from late_mcp.late.errors import (
    AuthenticationError,
    ConflictError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RequestValidationError,
    ServerError,
    TransportError,
)
from late_mcp.server.build import build_server

pytestmark = pytest.mark.anyio


def client_for(handler: httpx2.MockTransport | None = None, **overrides: object) -> LateClient:
    return LateClient(make_settings(**overrides), transport=handler)


def answering(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> httpx2.MockTransport:
    return httpx2.MockTransport(lambda request: httpx2.Response(status, content=body, headers=headers or {}))


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, RequestValidationError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, RequestValidationError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
    ],
)
async def test_status_maps_to_one_error_class(status: int, error: type[Exception]) -> None:
    transport = answering(
        status,
        b'{"error": "the API\'s words"}',
        {"Content-Type": "application/json", "X-Request-Id": "req-42", "Retry-After": "7"},
    )
    async with client_for(transport, retry_attempts=1) as client:
        with pytest.raises(error) as caught:
            await client.list_profiles()
    exc = caught.value
    assert exc.status == status and exc.api_message == "the API's words" and exc.request_id == "req-42"  # type: ignore[attr-defined]
    if status == 429:
        assert exc.retry_after == 7  # type: ignore[attr-defined]


async def test_html_and_wrong_shapes_are_malformed_responses() -> None:
    async with client_for(
        answering(200, b"<html>Bad gateway</html>", {"Content-Type": "text/html"})
    ) as client:
        with pytest.raises(MalformedResponseError, match="not JSON"):
            await client.list_profiles()
    async with client_for(answering(200, b'{"profiles": [{"name": 3}]}')) as client:
        with pytest.raises(MalformedResponseError, match="expected shape"):
            await client.list_profiles()
    async with client_for(answering(200, b'{"nothing": []}')) as client:
        with pytest.raises(MalformedResponseError, match="'profiles'"):
            await client.list_profiles()


async def test_transport_failures_say_whether_the_request_may_have_landed() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    def drop(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("lost", request=request)

    async with client_for(httpx2.MockTransport(refuse)) as client:
        with pytest.raises(TransportError) as refused:
            await client.create_profile({"name": "x"})
    assert refused.value.outcome_unknown is False
    async with client_for(httpx2.MockTransport(drop)) as client:
        with pytest.raises(TransportError) as dropped:
            await client.create_profile({"name": "x"})
    assert dropped.value.outcome_unknown is True


async def test_key_goes_only_to_the_api_and_every_request_has_an_id(tmp_path: Path) -> None:
    seen: list[httpx2.Request] = []

    def record(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"profiles": []})

    media = tmp_path / "a.png"
    media.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 10)
    async with client_for(httpx2.MockTransport(record)) as client:
        await client.list_profiles()
        await client.upload_file("https://storage.example/put?sig=1", media, "image/png", 18)
    api, upload = seen
    assert str(api.url) == f"{API_BASE}/v1/profiles"
    assert api.headers["Authorization"] == f"Bearer {TEST_KEY}"
    assert api.headers["X-Request-Id"].startswith("lm_")
    assert api.headers["User-Agent"].startswith("late-mcp/")
    assert "Authorization" not in upload.headers
    assert upload.headers["Content-Length"] == "18" and "Transfer-Encoding" not in upload.headers


async def test_wrong_key_gives_an_actionable_tool_error(sandbox: object) -> None:
    wrong = "sk_" + "0" * 64
    server = build_server(make_settings(api_key=wrong), transport=httpx2.ASGITransport(app=sandbox))
    async with Client(server, mode="legacy") as client:
        message = await fails(client, "profiles_list")
        assert "HTTP 401" in message and "LATE_API_KEY" in message and wrong not in message
        assert "HTTP 401" in await fails(client, "accounts_list")


async def test_malformed_answers_become_tool_errors_not_crashes() -> None:
    transport = answering(502, b"<html><body>502 Bad Gateway</body></html>", {"Content-Type": "text/html"})
    async with Client(build_server(make_settings(), transport=transport), mode="legacy") as client:
        message = await fails(client, "posts_list")
        assert "HTTP 502" in message
    transport = answering(200, b'{"post": {"status": "draft"}}', {"Content-Type": "application/json"})
    async with Client(build_server(make_settings(), transport=transport), mode="legacy") as client:
        assert "expected shape" in await fails(client, "posts_get", post_id="abc")


def scripted(*answers: int | type[Exception]) -> tuple[httpx2.MockTransport, list[httpx2.Request]]:
    """A transport that answers each request with the next status code or raises the next error."""
    seen: list[httpx2.Request] = []
    queue = list(answers)

    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        answer = queue.pop(0) if queue else 200
        if isinstance(answer, int):
            body = (
                {"profiles": [], "profile": {"_id": "p1", "name": "n"}} if answer < 300 else {"error": "no"}
            )
            return httpx2.Response(answer, json=body, headers={"Retry-After": "0.01"})
        raise answer("injected", request=request)

    return httpx2.MockTransport(handle), seen


async def test_reads_are_retried_through_transient_faults() -> None:
    transport, seen = scripted(503, httpx2.ReadTimeout, 429, httpx2.ConnectError, 502, 200)
    async with client_for(transport) as client:
        assert await client.list_profiles() == []
    assert len(seen) == 6
    assert len({r.headers["X-Request-Id"] for r in seen}) == 6


async def test_exhausted_retries_say_how_often_they_tried() -> None:
    transport, seen = scripted(*[503] * 10)
    async with client_for(transport) as client:
        with pytest.raises(ServerError) as caught:
            await client.list_profiles()
    assert len(seen) == 6 and caught.value.attempts == 6
    assert "Tried 6 times" in caught.value.describe()


async def test_writes_are_not_repeated_when_they_may_have_landed() -> None:
    for fault in (httpx2.ReadTimeout, httpx2.ReadError, httpx2.RemoteProtocolError, 500, 502):
        transport, seen = scripted(fault, 201)
        async with client_for(transport) as client:
            with pytest.raises((TransportError, ServerError)):
                await client.create_profile({"name": "x"})
        assert len(seen) == 1, fault


async def test_writes_are_repeated_when_late_certainly_did_not_act() -> None:
    for fault in (429, httpx2.ConnectError, httpx2.ConnectTimeout):
        transport, seen = scripted(fault, 201)
        async with client_for(transport) as client:
            assert (await client.create_profile({"name": "x"})).id == "p1"
        assert len(seen) == 2, fault


async def test_a_lost_delete_that_landed_counts_as_done() -> None:
    transport, seen = scripted(httpx2.ReadError, 404)
    async with client_for(transport) as client:
        await client.delete_post("abc")
    assert [r.method for r in seen] == ["DELETE", "DELETE"]
    transport, seen = scripted(404)
    async with client_for(transport) as client:
        with pytest.raises(NotFoundError):
            await client.delete_post("abc")


async def test_retries_stop_at_the_call_deadline() -> None:
    """A Retry-After longer than the time left ends the retries at once, with the wait in the hint."""
    transport = answering(429, b'{"error": "slow down"}', {"Retry-After": "30"})
    async with client_for(transport, call_deadline=5.0) as client:
        with pytest.raises(RateLimitedError) as caught:
            await client.list_profiles()
    assert caught.value.attempts == 1 and "30 seconds" in caught.value.describe()


async def test_rate_gate_waits_for_the_reset_when_nothing_is_left() -> None:
    from late_mcp.late.ratelimit import RateLimiter

    limiter = RateLimiter(wall=lambda: 999.95)
    limiter.observe({"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "1000"})
    await limiter.acquire()
    assert limiter.waited == 0
    limiter.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1000"})
    await limiter.acquire()
    assert 0.04 < limiter.waited <= 0.05


SAMPLE_ARGUMENTS: dict[str, dict[str, object]] = {
    "profiles_list": {},
    "profiles_get": {"profile_id": "p1"},
    "profiles_create": {"name": "n"},
    "profiles_update": {"profile_id": "p1", "name": "n"},
    "profiles_delete": {"profile_id": "p1"},
    "invites_create": {"profile_id": "p1", "platforms": ["tiktok"]},
    "invites_list": {},
    "invites_revoke": {"invite_id": "i1"},
    "accounts_connect_link": {"profile_id": "p1", "platform": "reddit"},
    "accounts_list": {},
    "accounts_health": {},
    "accounts_disconnect": {"account_id": "a1"},
    "posts_create": {"content": "c", "accounts": ["a1"], "is_draft": True},
    "posts_validate": {"content": "c", "accounts": ["a1"], "is_draft": True},
    "posts_list": {},
    "posts_calendar": {"profile_id": "p1"},
    "posts_get": {"post_id": "x1"},
    "posts_update": {"post_id": "x1", "content": "c"},
    "posts_delete": {"post_id": "x1"},
    "posts_retry": {"post_id": "x1"},
    "posts_review": {"post_id": "x1", "decision": "approve"},
    "media_upload_link": {"filename": "a.png"},
    "media_browser_upload_start": {},
    "media_browser_upload_status": {"token": "t1"},
    "posts_logs": {"post_id": "x1"},
    "queue_slots_get": {"profile_id": "p1"},
    "queue_slots_set": {
        "profile_id": "p1",
        "timezone": "UTC",
        "slots": [{"day_of_week": 1, "time": "09:00"}],
    },
    "queue_preview": {"profile_id": "p1"},
    "analytics_posts": {},
    "analytics_best_times": {},
    "accounts_followers": {},
    "analytics_report": {"profile_id": "p1", "from_date": "2026-01-01", "to_date": "2026-01-31"},
    "comments_list": {"account_id": "a1"},
    "comments_reply": {"post_id": "x1", "comment_id": "c1", "text": "t", "account_id": "a1"},
    "comments_hide": {"post_id": "x1", "comment_id": "c1", "account_id": "a1"},
    "usage_stats": {},
}


async def test_every_tool_turns_a_refused_key_into_an_actionable_error(
    sandbox: object, tmp_path: Path
) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 10)
    arguments = {**SAMPLE_ARGUMENTS, "media_upload_file": {"path": str(image)}}
    server = build_server(
        make_settings(api_key="sk_" + "1" * 64, media_dirs=(tmp_path,)),
        transport=httpx2.ASGITransport(app=sandbox),
    )
    async with Client(server, mode="legacy") as client:
        local = {"journal_recent", "time_now", "posts_platform_rules", "media_upload_picker"}  # no Late
        tools = {t.name for t in (await client.list_tools()).tools} - local
        assert tools == set(arguments)
        for name in sorted(tools):
            message = await fails(client, name, **arguments[name])
            if name == "media_browser_upload_status":  # a token this caller was not given: Late is not asked
                assert "not a browser-upload token this access token started" in message, message
                continue
            assert "HTTP 401" in message and "LATE_API_KEY" in message, (name, message)
