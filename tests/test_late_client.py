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
from late_mcp.server import build_server

pytestmark = pytest.mark.anyio


def client_for(handler: httpx2.MockTransport | None = None, **kwargs: object) -> LateClient:
    return LateClient(make_settings(), transport=handler)


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
    async with client_for(transport) as client:
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
