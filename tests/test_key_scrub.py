"""The API key never comes back out, even when Late echoes it; presigned URLs are logged unsigned.

A stand-in Late puts the key in an error text, in a response body (a profile name, and a key of
an object), in the X-Request-Id and Date headers and in the reason phrase. The conftest helpers
already fail a test whose tool result holds the key, and the autouse fixture fails one whose
logs or output do; this file also reads the journal file.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx2
import pytest
from mcp import Client

from conftest import TEST_KEY, fails, make_settings, ok
from late_mcp.late.client import LateClient
from late_mcp.late.errors import MalformedResponseError, PermissionDeniedError
from late_mcp.server.build import build_server

pytestmark = pytest.mark.anyio


def echoing_late(request: httpx2.Request) -> httpx2.Response:
    """A Late that repeats the key it was sent wherever it can."""
    echoed = {"X-Request-Id": f"req-{TEST_KEY}", "Date": f"Mon, 23 Nov 2026 18:00:00 GMT {TEST_KEY}"}
    path = request.url.path
    if request.method == "GET" and path.endswith("/v1/profiles"):
        profile = {"_id": "p1", "name": f"Team {TEST_KEY}", "description": "x", TEST_KEY: "as a key"}
        return httpx2.Response(200, json={"profiles": [profile]}, headers=echoed)
    if request.method == "POST" and path.endswith("/v1/profiles"):
        body = json.loads(request.content)
        if body["name"] == "refuse me":
            error = {"error": f"Key {TEST_KEY} may not create profiles in this workspace"}
            return httpx2.Response(
                403, json=error, headers=echoed, extensions={"reason_phrase": f"No {TEST_KEY}".encode()}
            )
        return httpx2.Response(
            200, json={"profile": {"_id": "p2", "name": f"{body['name']} for {TEST_KEY}"}}, headers=echoed
        )
    if path.endswith("/v1/accounts"):
        return httpx2.Response(
            200, content=f"<html>{TEST_KEY}</html>".encode(), headers={"Content-Type": TEST_KEY}
        )
    return httpx2.Response(404, json={"error": f"unknown {TEST_KEY}"})


async def test_a_key_echoed_by_late_reaches_no_result_journal_or_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "journal.sqlite3"
    settings = make_settings(journal_path=journal, retry_attempts=1)
    async with Client(
        build_server(settings, transport=httpx2.MockTransport(echoing_late)), mode="legacy"
    ) as mcp:
        listed = await ok(mcp, "profiles_list")
        assert "[redacted]" in json.dumps(listed)
        created = await ok(mcp, "profiles_create", name="Bakery")
        assert created["profile"]["name"] == "Bakery for [redacted]"
        refused = await fails(mcp, "profiles_create", name="refuse me")
        assert "may not create profiles" in refused and "[redacted]" in refused
        malformed = await fails(mcp, "accounts_list")
        assert "not JSON" in malformed
        recent = await ok(mcp, "journal_recent")
        assert recent["entries"], recent
    assert journal.exists() and TEST_KEY.encode() not in journal.read_bytes()
    assert TEST_KEY not in caplog.text
    assert "HTTP Request" in caplog.text  # the request lines were logged, scrubbed


async def test_the_client_scrubs_errors_bodies_and_headers() -> None:
    transport = httpx2.MockTransport(echoing_late)
    async with LateClient(make_settings(retry_attempts=1), transport=transport) as client:
        with pytest.raises(PermissionDeniedError) as caught:
            await client.create_profile({"name": "refuse me"})
        profiles = await client.list_profiles()
        with pytest.raises(MalformedResponseError) as malformed:
            await client.list_accounts()
        date = client.server_date
    error = caught.value
    for text in (str(error), error.describe(), error.api_message or "", error.request_id or ""):
        assert TEST_KEY not in text
    assert error.api_message == "Key [redacted] may not create profiles in this workspace"
    assert error.request_id == "req-[redacted]"
    assert profiles[0].name == "Team [redacted]"
    assert TEST_KEY not in str(malformed.value) and date is not None and TEST_KEY not in date


async def test_presigned_upload_urls_are_logged_without_their_signature(
    mcp: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="httpx2")
    image = tmp_path / "a.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000))
    await ok(mcp, "media_upload_file", path=str(image))
    link = await ok(mcp, "media_upload_link", filename="clip.mp4")
    assert "X-Expires=" in link["upload_url"]  # the result carries the signed URL: the caller needs it
    puts = [line for line in caplog.text.splitlines() if "HTTP Request: PUT" in line]
    assert puts and all("X-Expires" not in line and "[query removed]" in line for line in puts), puts
    assert "X-Expires" not in caplog.text
