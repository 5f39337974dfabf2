"""media_upload_file reads only inside the allowed folders, and only genuine media.

Allowed folders: LATE_MEDIA_DIRS; else over stdio the client's MCP roots, else the usual media
folders (more in tests/test_edges_time_media.py); over HTTP nothing without LATE_MEDIA_DIRS.
Anything outside gets one refusal whose text does not depend on the path.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from conftest import fails, make_settings, ok
from contract import ContractCheckingTransport
from late_mcp.config.settings import ConfigError, Settings
from late_mcp.media.file import open_below, open_media_file
from late_mcp.media.sniff import sniff
from late_mcp.sandbox import SandboxState
from late_mcp.server.build import build_server
from late_mcp.tools.media import HTTP_WITHOUT_FOLDERS

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
REFUSED = "Not an allowed file"


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


MP4 = box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + box(b"free", b"") + box(b"mdat", bytes(4000))


def ebml(element_id: bytes, payload: bytes) -> bytes:
    return element_id + bytes([0x80 | len(payload)]) + payload


WEBM = ebml(b"\x1a\x45\xdf\xa3", ebml(b"\x42\x86", b"\x01") + ebml(b"\x42\x82", b"webm")) + ebml(
    b"\x18\x53\x80\x67", bytes(40)
)
AVI = b"RIFF" + struct.pack("<I", 4 + 12 + 100) + b"AVI " + b"LIST" + struct.pack("<I", 104) + bytes(104)


def read_at(data: bytes) -> Any:
    return lambda offset, count: data[offset : offset + count]


def test_video_containers_are_walked_not_judged_by_four_bytes() -> None:
    assert sniff(read_at(MP4), len(MP4)) == "iso"
    assert sniff(read_at(WEBM), len(WEBM)) == "webm"
    assert sniff(read_at(AVI), len(AVI)) == "avi"
    fakes = [
        b"\x00\x00\x00\x18ftypisom" + b"this is a plain text file, not a video at all\n" * 20,
        b"xxxxftyp hello, I am text pretending to be an mp4\n",
        box(b"ftyp", b"isom\x00\x00\x02\x00isom"),  # a lone ftyp: no further boxes
        box(b"ftyp", b"is\x00m\x00\x00\x02\x00"),  # brand not printable
        box(b"ftyp", b"isom\x00\x00\x02\x00") + box(b"free", b"") + b"text after the boxes\n",
        b"\x1a\x45\xdf\xa3 this is text\n" * 5,
        b"RIFF\xff\xff\xff\x7fAVI LIST" + b"text" * 10,
        b"RIFF" + struct.pack("<I", 20) + b"AVI " + b"text" * 10,
    ]
    for fake in fakes:
        assert sniff(read_at(fake), len(fake)) is None, fake[:24]


@pytest.fixture
async def session_for(
    late_transport: ContractCheckingTransport,
) -> AsyncIterator[Any]:
    """Open a session on a server with the given settings overrides (and client options)."""
    async with AsyncExitStack() as stack:

        async def open_session(client_options: dict[str, Any] | None = None, **settings: Any) -> Client:
            server = build_server(make_settings(**settings), transport=late_transport)
            return await stack.enter_async_context(Client(server, mode="legacy", **(client_options or {})))

        yield open_session


async def test_paths_outside_get_one_refusal_that_reveals_nothing(
    session_for: Any, state: SandboxState, tmp_path: Path
) -> None:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    (allowed / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.png").write_bytes(PNG)
    (allowed / "sub" / "ok.png").write_bytes(PNG)
    (allowed / "link.png").symlink_to(outside / "secret.png")
    (allowed / "linked-dir").symlink_to(outside, target_is_directory=True)
    (allowed / ".hidden").mkdir()
    (allowed / ".hidden" / "a.png").write_bytes(PNG)
    (allowed / ".dot.png").write_bytes(PNG)
    client = await session_for(media_dirs=(allowed,))
    refusals = {
        "outside, exists": outside / "secret.png",
        "outside, missing": outside / "missing.png",
        "outside folder itself": outside,
        "dot dot, resolving inside": f"{allowed}/sub/../sub/ok.png",
        "dot dot, escaping": f"{allowed}/../outside/secret.png",
        "symlink to a file outside": allowed / "link.png",
        "symlink to a folder outside": allowed / "linked-dir" / "secret.png",
        "symlinked folder, missing file": allowed / "linked-dir" / "missing.png",
        "dot folder": allowed / ".hidden" / "a.png",
        "dot file": allowed / ".dot.png",
        "system file": "/etc/passwd",
        "NUL": f"{allowed}/sub/ok.png\x00.png",
    }
    texts = {
        name: await fails(client, "media_upload_file", path=str(path)) for name, path in refusals.items()
    }
    first = texts["outside, exists"]
    assert first.startswith(REFUSED) and str(allowed) in first  # stdio: names the allowed folder
    for name, message in texts.items():
        assert message == first, name  # the same words whatever the path, existing or not
        assert "secret" not in message and "missing" not in message
    assert not state.uploads
    uploaded = await ok(client, "media_upload_file", path=str(allowed / "sub" / "ok.png"))
    assert uploaded["size_bytes"] == len(PNG)


async def test_a_link_that_stays_inside_is_fine(session_for: Any, tmp_path: Path) -> None:
    (tmp_path / "real.png").write_bytes(PNG)
    (tmp_path / "alias.png").symlink_to(tmp_path / "real.png")
    client = await session_for(media_dirs=(tmp_path,))
    assert (await ok(client, "media_upload_file", path=str(tmp_path / "alias.png")))["size_bytes"] == len(PNG)


async def test_over_http_it_needs_late_media_dirs(
    session_for: Any, state: SandboxState, tmp_path: Path
) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(PNG)
    without = await session_for(transport="http")
    message = await fails(without, "media_upload_file", path=str(image))
    assert message == HTTP_WITHOUT_FOLDERS and "LATE_MEDIA_DIRS" in message
    assert "media_browser_upload_start" in message
    with_dirs = await session_for(transport="http", media_dirs=(tmp_path / "other",))
    (tmp_path / "other").mkdir()
    refused = await fails(with_dirs, "media_upload_file", path=str(image))
    assert refused.startswith(REFUSED) and str(tmp_path) not in refused  # names no server folder
    assert not state.uploads
    (tmp_path / "other" / "b.png").write_bytes(PNG)
    assert await ok(with_dirs, "media_upload_file", path=str(tmp_path / "other" / "b.png"))


async def test_over_stdio_the_clients_roots_decide(session_for: Any, tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / "in.png").write_bytes(PNG)
    (elsewhere / "out.png").write_bytes(PNG)
    asked: list[str] = []

    async def roots(context: Any) -> types.ListRootsResult:
        asked.append("roots/list")
        return types.ListRootsResult(roots=[types.Root(uri=project.as_uri(), name="project")])

    client = await session_for({"list_roots_callback": roots})
    assert await ok(client, "media_upload_file", path=str(project / "in.png"))
    refused = await fails(client, "media_upload_file", path=str(elsewhere / "out.png"))
    assert refused.startswith(REFUSED) and str(project) in refused
    assert asked
    # LATE_MEDIA_DIRS wins over the roots.
    configured = await session_for({"list_roots_callback": roots}, media_dirs=(elsewhere,))
    assert await ok(configured, "media_upload_file", path=str(elsewhere / "out.png"))


async def test_without_roots_the_media_folders_not_the_home_folder(
    session_for: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "Pictures").mkdir()
    image = tmp_path / "a.png"
    image.write_bytes(PNG)
    client = await session_for()
    refused = await fails(client, "media_upload_file", path=str(image))
    assert refused.startswith(REFUSED) and f"folders ({tmp_path / 'Pictures'})" in refused
    (tmp_path / "Pictures" / "a.png").write_bytes(PNG)
    assert await ok(client, "media_upload_file", path=str(tmp_path / "Pictures" / "a.png"))


async def test_a_text_file_named_mp4_is_refused(
    session_for: Any, state: SandboxState, tmp_path: Path
) -> None:
    fake = tmp_path / "clip.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"Dear diary, today I renamed a text file.\n" * 50)
    real = tmp_path / "real.mp4"
    real.write_bytes(MP4)
    client = await session_for(media_dirs=(tmp_path,))
    message = await fails(client, "media_upload_file", path=str(fake))
    assert "only genuine media files" in message and "video/mp4" in message
    assert not state.uploads
    assert (await ok(client, "media_upload_file", path=str(real)))["media_type"] == "video"


def test_late_media_dirs_is_read_by_the_settings_parser(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    env = {"LATE_SANDBOX": "on", "LATE_MEDIA_DIRS": f"{tmp_path / 'a'}{os.pathsep} {tmp_path / 'b'} "}
    assert Settings.from_env(env).media_dirs == (tmp_path / "a", tmp_path / "b")
    assert Settings.from_env({"LATE_SANDBOX": "on"}).media_dirs == ()
    for bad in (str(tmp_path / "missing"), "relative/folder"):
        with pytest.raises(ConfigError, match="LATE_MEDIA_DIRS"):
            Settings.from_env({"LATE_SANDBOX": "on", "LATE_MEDIA_DIRS": bad})


def test_the_checked_handle_is_the_one_streamed(tmp_path: Path) -> None:
    """Swapping the file for a link after the check changes nothing: the open handle is streamed."""
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n" + b"SECRET" * 100)
    (tmp_path / "album").mkdir()
    image = tmp_path / "album" / "photo.png"
    image.write_bytes(PNG)
    media = open_media_file(str(image), [tmp_path / "album"], show_folders=True)
    try:
        image.unlink()
        image.symlink_to(secret)  # swapped between the check and the upload
        assert media.handle.read() == PNG
    finally:
        media.close()


@pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="needs O_NOFOLLOW")
def test_the_walk_down_follows_no_link(tmp_path: Path) -> None:
    """A folder swapped for a link after the path was resolved is not followed on the way down."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(PNG)
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "sub").symlink_to(outside, target_is_directory=True)
    (allowed / "last.png").symlink_to(outside / "secret.png")
    for parts in (["sub", "secret.png"], ["last.png"]):
        with pytest.raises(OSError):
            os.close(open_below(str(allowed), parts))


async def test_concurrent_uploads_each_get_their_own_file(
    mcp: Client, state: SandboxState, tmp_path: Path
) -> None:
    images = []
    for i in range(6):
        image = tmp_path / f"img{i}.png"
        image.write_bytes(PNG + bytes([i]) * (1000 * (i + 1)))
        images.append(image)
    results: dict[str, dict[str, Any]] = {}
    refusals: list[str] = []

    async def upload(image: Path) -> None:
        results[image.name] = await ok(mcp, "media_upload_file", path=str(image))

    async def refused() -> None:
        refusals.append(await fails(mcp, "media_upload_file", path="/etc/passwd"))

    async with anyio.create_task_group() as tg:
        for image in images:
            tg.start_soon(upload, image)
        tg.start_soon(refused)
    assert {name: r["size_bytes"] for name, r in results.items()} == {
        i.name: i.stat().st_size for i in images
    }
    assert sorted(u["sha256"] for u in state.uploads.values()) == sorted(
        hashlib.sha256(i.read_bytes()).hexdigest() for i in images
    )
    assert refusals and refusals[0].startswith(REFUSED)
