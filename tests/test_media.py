"""media_upload_file and media_upload_link: real streaming uploads and refusals before any request."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from mcp import Client

from conftest import fails, ok
from late_mcp.sandbox import SandboxState

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40

pytestmark = pytest.mark.anyio


def presigns(state: SandboxState) -> int:
    return sum(1 for method, path in state.requests if path.endswith("/v1/media/presign"))


async def test_upload_local_file_streams_it_to_the_presigned_url(
    mcp: Client, state: SandboxState, tmp_path: Path
) -> None:
    image = tmp_path / "croissant.png"
    image.write_bytes(PNG * 300)  # ~3 MB: several chunks
    data = await ok(mcp, "media_upload_file", path=str(image))
    assert data["media_type"] == "image" and data["content_type"] == "image/png"
    assert data["size_bytes"] == image.stat().st_size
    (upload,) = state.uploads.values()
    assert upload["size"] == image.stat().st_size
    assert upload["sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()
    assert data["public_url"].startswith("http")


async def test_upload_refusals_happen_before_any_request(
    mcp: Client, state: SandboxState, tmp_path: Path
) -> None:
    secret = tmp_path / "id_rsa.jpg"
    secret.write_bytes(b"-----BEGIN OPENSSH PRIVATE KEY-----\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    album = tmp_path / "album.png"
    album.mkdir()
    cases = {
        str(tmp_path / "missing.png"): "No file",
        str(notes): "not a supported media file",
        str(secret): "only genuine media files",
        str(empty): "empty",
        "croissant.png": "relative",
        str(album): "not a regular file",
    }
    for path, expected in cases.items():
        assert expected in await fails(mcp, "media_upload_file", path=path), path
    assert presigns(state) == 0 and not state.uploads


async def test_upload_link(mcp: Client) -> None:
    link = await ok(mcp, "media_upload_link", filename="launch.mp4", size_bytes=1234)
    assert link["content_type"] == "video/mp4" and link["media_type"] == "video"
    assert link["upload_url"].startswith("http") and link["public_url"].startswith("http")
    assert "Unsupported" in await fails(mcp, "media_upload_link", filename="virus.exe")
    assert "size_bytes" in await fails(mcp, "media_upload_link", filename="big.mp4", size_bytes=6 * 1024**3)
