"""Uploads people can watch: progress notifications, and several files in one call."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx2
import pytest
from mcp import Client

from conftest import call, fails, make_settings, ok, structured, text
from contract import ContractCheckingTransport
from late_mcp.sandbox import SandboxState
from late_mcp.server.build import build_server

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
Progress = list[tuple[float, float | None, str | None]]


def recorder() -> tuple[Progress, object]:
    seen: Progress = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    return seen, on_progress


async def test_one_upload_reports_progress_to_the_client(mcp: Client, tmp_path: Path) -> None:
    image = tmp_path / "croissant.png"
    image.write_bytes(PNG * 300)  # ~3 MB: three 1 MiB chunks
    size = image.stat().st_size
    seen, on_progress = recorder()
    result = await mcp.call_tool("media_upload_file", {"path": str(image)}, progress_callback=on_progress)  # type: ignore[arg-type]
    assert not result.is_error, text(result)
    assert len(seen) >= 3, seen
    amounts = [progress for progress, _, _ in seen]
    assert amounts == sorted(amounts) and amounts[-1] == size
    assert all(total == size for _, total, _ in seen)
    assert all(message and message.startswith("croissant.png: ") for _, _, message in seen)


async def test_without_a_progress_token_nothing_is_sent_and_it_still_works(
    mcp: Client, tmp_path: Path
) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(PNG)
    assert (await ok(mcp, "media_upload_file", path=str(image)))["size_bytes"] == len(PNG)


class FailingPuts(httpx2.AsyncBaseTransport):
    """The sandbox, except that the storage host refuses uploads of files named broken*."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "PUT" and "broken" in request.url.path:
            return httpx2.Response(503, json={"error": "storage is having a moment"})
        return await self.inner.handle_async_request(request)


async def test_several_files_each_get_their_own_result(
    late_transport: ContractCheckingTransport, state: SandboxState, tmp_path: Path
) -> None:
    good = [tmp_path / "one.png", tmp_path / "two.png"]
    for i, image in enumerate(good):
        image.write_bytes(PNG * (i + 1))
    fake = tmp_path / "fake.jpg"
    fake.write_text("just text")
    broken = tmp_path / "broken.png"
    broken.write_bytes(PNG)
    paths = [str(good[0]), str(tmp_path / "missing.png"), str(fake), str(broken), str(good[1])]
    server = build_server(make_settings(media_dirs=(tmp_path,)), transport=FailingPuts(late_transport))
    seen, on_progress = recorder()
    async with Client(server, mode="legacy") as client:
        result = await client.call_tool("media_upload_file", {"path": paths}, progress_callback=on_progress)  # type: ignore[arg-type]
        assert not result.is_error, text(result)
        data = structured(result)
        assert data is not None
        assert (data["uploaded"], data["failed"]) == (2, 3)
        files = data["files"]
        assert [f["path"] for f in files] == paths  # in the order given
        assert files[0]["uploaded"]["filename"] == "one.png" and files[4]["uploaded"]["filename"] == "two.png"
        assert "No file" in files[1]["error"] and files[1]["error_kind"] == "invalid_argument"
        assert "only genuine media files" in files[2]["error"]
        assert "storage service refused" in files[3]["error"] and "503" in files[3]["error"]
        assert "Uploaded 2 of 5 files" in text(result) and "3 failed" in text(result)
        none = await fails(client, "media_upload_file", path=[str(fake), str(tmp_path / "missing.png")])
        assert "None of the 2 files was uploaded" in none and "only genuine" in none and "No file" in none
    assert sorted(u["sha256"] for u in state.uploads.values()) == sorted(
        hashlib.sha256(p.read_bytes()).hexdigest() for p in good
    )
    total = sum(p.stat().st_size for p in [*good, broken])  # every file that passed the checks
    assert seen and all(t == total for _, t, _ in seen) and seen[-1][0] == total


async def test_a_list_is_limited_and_checked_like_a_single_path(mcp: Client, tmp_path: Path) -> None:
    assert "path" in await fails(mcp, "media_upload_file", path=[])
    assert "path" in await fails(mcp, "media_upload_file", path=[str(tmp_path / "a.png")] * 21)
    result = await call(mcp, "media_upload_file", path=["/etc/passwd"])
    assert result.is_error and "Not an allowed file" in text(result)
