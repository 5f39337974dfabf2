"""The MCP Apps in a real headless chromium, in a host of the tests' own.

tests/apps_host/host.html (served on loopback) loads an app, as `resources/read` of a real MCP
session serves it, into a sandboxed iframe and speaks the extension's postMessage protocol to it
with the host side of the `@modelcontextprotocol/ext-apps` npm package (AppBridge, bundled for the
browser with esbuild; `npm install` puts both in tests/apps_host/node_modules, git-ignored). The
tool input and result it hands the app are the real server's answers; the app's own tools/call
requests (reschedule, approve) are relayed by the test to the same MCP session, so they reach the
sandbox over the same path a host's would. Assertions are on the app's DOM; each app leaves a
screenshot in tests/artifacts/ (UPDATE_SCREENSHOTS=1 refreshes the README's in docs/screenshots/).

Without node, npm or the registry the tests skip and say why; in CI (CI=true) they fail instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import struct
import subprocess
import threading
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import anyio
import httpx2
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextResourceContents

from browser import Browser, unavailable
from conftest import call, confirmed, make_settings, ok, structured
from contract import ContractCheckingTransport, OpenAPIContract
from httpserve import serving
from late_mcp.apps import AppName, app_uri
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.state import SEED_ACCOUNT_ACME_TWITTER, SEED_PROFILE_ACME
from late_mcp.server.build import build_server
from late_mcp.transports.serving import bind_socket
from test_apps_mcp import APPS_CLIENT, across_midnight_in_auckland

pytestmark = pytest.mark.anyio
HOST = Path(__file__).parent / "apps_host"
BUNDLE = HOST / "node_modules" / ".bundle" / "app-bridge.js"
SCREENSHOTS = Path(__file__).parent.parent / "docs" / "screenshots"
AUCKLAND = "Pacific/Auckland"
RELAY_ROUNDS = 200  # polls of the page for the app's requests, 0.05 s apart: 10 s at most


@pytest.fixture(scope="module")
def app_bridge() -> Path:
    """The ext-apps host side bundled for the browser (npm install, then esbuild)."""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        unavailable("node and npm are needed to install @modelcontextprotocol/ext-apps")
    assert npm is not None
    steps = (
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
        [str(HOST / "node_modules" / ".bin" / "esbuild"), "bridge-entry.js", "--bundle", "--format=esm",
         "--platform=browser", f"--outfile={BUNDLE}", "--log-level=warning"],
    )  # fmt: skip
    for step in steps:
        try:
            done = subprocess.run(
                step, cwd=HOST, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL
            )
        except (subprocess.TimeoutExpired, FileNotFoundError) as exc:
            unavailable(f"`{' '.join(step[:2])}` in tests/apps_host did not run: {exc}")
        if done.returncode != 0:
            unavailable(f"`{' '.join(step[:2])}` in tests/apps_host failed: {done.stderr.strip()[-600:]}")
    return BUNDLE


class _Files(BaseHTTPRequestHandler):
    """The host page and the bundled bridge, nothing else."""

    routes: ClassVar[dict[str, tuple[Path, str]]] = {}

    def do_GET(self) -> None:
        found = self.routes.get(self.path)
        if found is None:
            self.send_error(404)
            return
        body = found[0].read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", found[1])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def tiny_png(path: Path, rgb: tuple[int, int, int]) -> Path:
    """A 48x48 PNG of one colour (a post's image, served on loopback like everything here)."""
    row = b"\x00" + bytes(rgb) * 48
    raw = zlib.compress(row * 48)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 48, 48, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture(scope="module")
def host_page(app_bridge: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test host served on a loopback port (with two images for posts); yields its URL."""
    images = tmp_path_factory.mktemp("images")
    handler = type("Files", (_Files,), {"routes": {
        "/": (HOST / "host.html", "text/html; charset=utf-8"),
        "/app-bridge.js": (app_bridge, "text/javascript; charset=utf-8"),
        "/shop.png": (tiny_png(images / "shop.png", (230, 160, 60)), "image/png"),
        "/oven.png": (tiny_png(images / "oven.png", (90, 140, 220)), "image/png"),
    }})  # fmt: skip
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
async def session(late_transport: ContractCheckingTransport, tmp_path: Path) -> AsyncIterator[Client]:
    """The real server with every toolset, as a client that renders MCP Apps sees it."""
    server = build_server(make_settings(media_dirs=(tmp_path,)), transport=late_transport)
    async with Client(server, extensions=[APPS_CLIENT]) as client:
        yield client


def wire(result: CallToolResult) -> dict[str, Any]:
    """A tool result as it travels in JSON-RPC (camelCase)."""
    dumped: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


class HostedApp:
    """One app mounted in the test host; relays its tools/call requests to the MCP session."""

    def __init__(self, browser: Browser, client: Client) -> None:
        self.browser = browser
        self.client = client
        self.relayed: list[dict[str, Any]] = []

    async def run(self, fn: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(fn)

    async def js(self, script: str, *args: Any) -> Any:
        driver = self.browser.driver
        return await self.run(partial(driver.execute_script, script, *args))

    async def mount(
        self,
        page: str,
        app: AppName,
        tool: str,
        arguments: dict[str, Any],
        *,
        theme: str = "light",
        width: int | None = None,
    ) -> CallToolResult:
        """Open the host, call the tool, and hand the app the server's document, input and result."""
        contents = (await self.client.read_resource(app_uri(app))).contents[0]
        assert isinstance(contents, TextResourceContents)
        result = await call(self.client, tool, **arguments)
        await self.run(partial(self.browser.open, page))
        await self.run(partial(self.browser.wait_for, "header"))
        for _ in range(RELAY_ROUNDS):
            if await self.js("return window.hostReady === true"):
                break
            await anyio.sleep(0.05)
        await self.js(
            "window.mount(arguments[0], arguments[1], arguments[2], arguments[3], arguments[4])",
            contents.text,
            arguments,
            wire(result),
            theme,
            width,
        )
        return result

    async def relay(self, until: Callable[[], bool] | None = None) -> None:
        """Answer the app's tools/call requests through the MCP session until `until()` holds (or,
        without one, until a poll finds nothing more to answer)."""
        for _ in range(RELAY_ROUNDS):
            calls = await self.js("return window.takeCalls ? window.takeCalls() : []")
            for request in calls:
                self.relayed.append(request)
                result = await call(self.client, request["name"], **request["arguments"])
                await self.js("window.answer(arguments[0], arguments[1])", request["id"], wire(result))
            if until is not None and until():
                return
            if until is None and not calls and self.relayed:
                return
            await anyio.sleep(0.05)
        raise AssertionError(f"the app did not get there; it asked for {self.relayed}")

    async def inside(self, fn: Callable[[Browser], Any]) -> Any:
        """Run `fn` with the driver inside the app's iframe."""
        driver = self.browser.driver

        def within() -> Any:
            driver.switch_to.frame(self.browser.wait_for("iframe#app"))
            try:
                return fn(self.browser)
            finally:
                driver.switch_to.default_content()

        return await self.run(within)

    async def wait_inside(self, css: str) -> None:
        await self.inside(lambda b: b.wait_for(css))

    async def screenshot(self, name: str) -> None:
        """Keep a PNG in tests/artifacts/; with UPDATE_SCREENSHOTS=1 also the README's copy in
        docs/screenshots/ (like UPDATE_SNAPSHOTS: a tracked file changes only when asked)."""
        await self.js("document.getElementById('app').scrollIntoView()")
        path = await self.run(partial(self.browser.screenshot, name))
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, SCREENSHOTS / f"{name}.png")


def _texts(browser: Browser, css: str) -> list[str]:
    return [e.text for e in browser.all(css)]


async def test_calendar_shows_the_clients_posts_on_their_days_in_auckland_and_reschedules(
    browser: Browser, host_page: str, session: Client, state: SandboxState
) -> None:
    today, late_evening, after_midnight, ids = await across_midnight_in_auckland(session, state)
    hosted = HostedApp(browser, session)
    await hosted.mount(host_page, "calendar", "posts_calendar", {"profile_id": SEED_PROFILE_ACME})
    first, second = late_evening.date().isoformat(), after_midnight.date().isoformat()
    await hosted.wait_inside(f'.day[data-date="{first}"] .post')

    def days(b: Browser) -> dict[str, list[str]]:
        return {e.get_attribute("data-date"): [p.text for p in e.find_elements("css selector", ".post")]
                for e in b.all(".day")}  # fmt: skip

    shown = await hosted.inside(days)
    assert len(shown) == 7 and next(iter(shown)) == today.isoformat()
    assert len(shown[first]) == 1 and shown[first][0].startswith("23:30")
    assert "Last bake of the day" in shown[first][0] and "twitter @acmebakery" in shown[first][0]
    assert (
        len(shown[second]) == 1
        and shown[second][0].startswith("00:30")
        and "Midnight loaf" in shown[second][0]
    )
    assert sum(len(p) for p in shown.values()) == 2
    zone_line = await hosted.inside(lambda b: b.wait_for("#zone").text)
    assert AUCKLAND in zone_line
    free = await hosted.inside(lambda b: _texts(b, f'.day[data-date="{second}"] .free'))
    assert free == ["10:00 free slot"]
    await hosted.screenshot("calendar")

    # Selecting a post shows its detail; moving it goes through the host as posts_update.
    target_day = (late_evening + timedelta(days=1)).date()

    def open_and_move(b: Browser) -> list[str]:
        b.wait_for(f'.post[data-post-id="{ids[0]}"]').click()
        b.wait_for("#detail #targets li")
        field = b.wait_for("#when")
        b.driver.execute_script("arguments[0].value = arguments[1]", field, f"{target_day}T08:15")
        detail = _texts(b, "#detail #targets li")
        b.wait_for("#reschedule").click()
        return detail

    detail = await hosted.inside(open_and_move)
    assert detail == ["twitter @acmebakery (Acme Bakery) — pending"]
    await hosted.relay(until=lambda: sum(r["name"] == "posts_calendar" for r in hosted.relayed) >= 1)
    assert [r["name"] for r in hosted.relayed] == ["posts_update", "posts_calendar"]
    assert hosted.relayed[0]["arguments"] == {
        "post_id": ids[0], "scheduled_for": f"{target_day}T08:15", "timezone": AUCKLAND,
    }  # fmt: skip
    moved = datetime(target_day.year, target_day.month, target_day.day, 8, 15, tzinfo=ZoneInfo(AUCKLAND))
    stored = state.posts[ids[0]]["scheduledFor"]
    assert datetime.fromisoformat(stored.replace("Z", "+00:00")) == moved
    await hosted.wait_inside(f'.day[data-date="{target_day}"] .post[data-post-id="{ids[0]}"]')
    note = await hosted.inside(lambda b: b.wait_for("#note").text)
    assert "Updated post" in note


THREAD = ["We open Monday at 7.", "Fresh sourdough all day.", "See you at Bakery Street 4!"]
LONG_LINKEDIN = (
    "Acme Bakery opens its second shop on Monday. After two years of baking for the neighbourhood "
    "from one small oven, we now have room for a proper café: twelve seats, the same sourdough, and "
    "a window where you can watch the bakers at work. Come by for a free croissant on opening day."
)


async def test_preview_shows_every_thread_part_and_each_platforms_text_and_approve_sends_once(
    browser: Browser, host_page: str, session: Client, state: SandboxState
) -> None:
    arguments = {
        "content": THREAD[0],
        "accounts": ["twitter", "linkedin", "facebook"],
        "profile_id": SEED_PROFILE_ACME,
        "publish_now": True,
        "title": "Second shop",
        "media_urls": [host_page + "shop.png", host_page + "oven.png"],
        "custom_content": {"linkedin": LONG_LINKEDIN},
        "options": {
            "twitter": {"thread": THREAD[1:]},
            "linkedin": {"first_comment": "Map: Bakery Street 4"},
        },
    }
    hosted = HostedApp(browser, session)
    preview = await hosted.mount(host_page, "preview", "posts_create", arguments)
    assert structured(preview)["status"] == "preview"
    assert not state.posts  # a preview sends nothing
    await hosted.wait_inside('.target[data-platform="linkedin"]')

    def read(b: Browser) -> dict[str, Any]:
        cards = {}
        for card in b.all(".target"):
            platform = card.get_attribute("data-platform")
            cards[platform] = {
                "who": card.find_element("css selector", ".who").text,
                "client": card.find_element("css selector", ".client").text,
                "parts": [p.text for p in card.find_elements("css selector", ".part:not(.comment) .text")],
                "comment": [c.text for c in card.find_elements("css selector", ".comment .text")],
                "media": len(card.find_elements("css selector", ".tile img")),
            }
        cards["title"] = b.wait_for("#title").text
        cards["when"] = b.wait_for("#when").text
        cards["post-title"] = b.wait_for("#post-title").text
        return cards

    cards = await hosted.inside(read)
    assert cards["title"] == "Publish now to 3 account(s)"
    assert cards["when"].startswith("Goes out now: ") and cards["when"].endswith(" Europe/Amsterdam")
    assert cards["post-title"] == "Title: Second shop"
    assert cards["twitter"]["parts"] == THREAD  # the thread as three posts
    assert cards["twitter"]["who"] == "twitter @acmebakery" and cards["twitter"]["client"] == "· Acme Bakery"
    assert cards["facebook"]["parts"] == [THREAD[0]]  # the text every other account gets
    # LinkedIn's own text, cut where its feed cuts it (210 characters), the rest behind "more".
    (linkedin,) = cards["linkedin"]["parts"]
    assert linkedin.startswith(LONG_LINKEDIN[:210]) and LONG_LINKEDIN[210:] not in linkedin
    assert "… more" in linkedin and "(cut at 210 characters)" in linkedin
    assert cards["linkedin"]["comment"] == ["Map: Bakery Street 4"]
    assert all(cards[p]["media"] == 2 for p in ("twitter", "linkedin", "facebook"))
    await hosted.screenshot("preview")

    # Approve, pressed twice in a row, sends one confirmed call; one post reaches the stand-in.
    await hosted.inside(lambda b: b.driver.execute_script(
        "const a = document.getElementById('approve'); a.click(); a.click();"))  # fmt: skip
    await hosted.relay()
    assert [r["name"] for r in hosted.relayed] == ["posts_create"]
    sent = hosted.relayed[0]["arguments"]
    assert sent == {**arguments, "confirm": structured(preview)["confirm_token"]}
    assert len(state.posts) == 1
    (post,) = state.posts.values()
    assert post["content"] == THREAD[0] and post["status"] == "published"
    outcome = await hosted.inside(lambda b: b.wait_for("#outcome").text)
    assert "Published" in outcome
    assert await hosted.inside(lambda b: b.wait_for("#actions").is_displayed()) is False


async def test_cancel_in_the_preview_sends_nothing_and_tells_the_model(
    browser: Browser, host_page: str, session: Client, state: SandboxState
) -> None:
    hosted = HostedApp(browser, session)
    arguments = {"content": "Closed today", "accounts": [SEED_ACCOUNT_ACME_TWITTER], "publish_now": True}
    await hosted.mount(host_page, "preview", "posts_create", arguments, theme="dark")
    await hosted.wait_inside('.target[data-platform="twitter"]')
    await hosted.inside(lambda b: b.wait_for("#cancel").click())
    outcome = await hosted.inside(lambda b: b.wait_for("#outcome").text)
    assert outcome == "Cancelled: nothing was sent."
    for _ in range(RELAY_ROUNDS):
        told = await hosted.js("return window.context")
        if told:
            break
        await anyio.sleep(0.05)
    assert "was not confirmed, nothing was sent" in told[0]["content"][0]["text"]
    assert await hosted.js("return window.takeCalls()") == [] and not state.posts
    assert await hosted.inside(lambda b: b.wait_for("#approve").is_enabled()) is False


async def test_the_delete_preview_shows_the_post_and_approve_deletes_it(
    browser: Browser, host_page: str, session: Client, state: SandboxState
) -> None:
    when = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    made = await ok(session, "posts_create", content="Sale on Friday", accounts=[SEED_ACCOUNT_ACME_TWITTER],
                    scheduled_for=when.isoformat())  # fmt: skip
    post_id = made["post"]["id"]
    hosted = HostedApp(browser, session)
    await hosted.mount(host_page, "preview", "posts_delete", {"post_id": post_id})
    await hosted.wait_inside(f'.target[data-post-id="{post_id}"]')
    shown = await hosted.inside(lambda b: [b.wait_for("#title").text, *_texts(b, ".target li")])
    assert shown == ["Delete this post", "twitter @acmebakery (Acme Bakery) — pending"]
    await hosted.inside(lambda b: b.wait_for("#approve").click())
    await hosted.relay()
    assert [r["name"] for r in hosted.relayed] == ["posts_delete"] and post_id not in state.posts


def lab_client(state: SandboxState) -> dict[str, str]:
    """A client with an X and a LinkedIn account and no history; returns platform -> account id."""
    profile = state.create_profile({"name": "Report Lab"})
    accounts = {}
    for platform in ("twitter", "linkedin"):
        accounts[platform] = state._add_account(profile["_id"], platform, f"lab_{platform}", "Lab")["_id"]
    accounts["profile"] = profile["_id"]
    return accounts


async def test_report_charts_each_platform_against_the_period_before_with_top_post_thumbnails(
    browser: Browser, host_page: str, session: Client, state: SandboxState
) -> None:
    lab = lab_client(state)
    today = datetime.now(UTC).date()
    # The period before: one LinkedIn post with known figures (as Late's history would hold it).
    state.history["65e" + "f" * 21] = {
        "_id": "65e" + "f" * 21, "profileId": lab["profile"], "accountId": lab["linkedin"],
        "platform": "linkedin", "username": "lab_linkedin", "content": "Last month's loaf",
        "publishedAt": f"{today - timedelta(days=10)}T09:00:00.000Z",
        "platformPostUrl": "https://www.linkedin.com/feed/update/1",
        "analytics": {"impressions": 1000, "reach": 800, "likes": 40, "comments": 6, "shares": 4, "saves": 0,
                      "clicks": 9, "views": 0, "engagementRate": 5.0},
    }  # fmt: skip
    # This period: a post with an image to each account, published now.
    for platform, image in (("twitter", "shop.png"), ("linkedin", "oven.png")):
        post = {"content": f"New oven on {platform}", "accounts": [lab[platform]], "publish_now": True}
        await confirmed(session, "posts_create", **post, media_urls=[host_page + image])
    arguments = {
        "profile_id": lab["profile"],
        "from_date": str(today - timedelta(days=6)),
        "to_date": str(today),
    }
    hosted = HostedApp(browser, session)
    result = await hosted.mount(host_page, "report", "analytics_report", arguments)
    report = structured(result)
    assert report is not None
    await hosted.wait_inside('#table tr[data-platform="linkedin"]')

    def read(b: Browser) -> dict[str, Any]:
        rows = {r.get_attribute("data-platform"): [c.text for c in r.find_elements("css selector", "td")]
                for r in b.all("#table tbody tr")}  # fmt: skip
        bars = {
            (r.get_attribute("data-platform"), r.get_attribute("data-period")): float(
                r.get_attribute("width")
            )
            for r in b.all("#chart rect")
        }
        thumbs = [i.get_attribute("src") for i in b.all("#top img.thumb")]
        loaded = b.driver.execute_script(
            "return [...document.querySelectorAll('#top img.thumb')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )
        return {"rows": rows, "bars": bars, "thumbs": thumbs, "loaded": loaded}

    seen = await hosted.inside(read)
    now = {r["platform"]: r for r in report["platforms"]}
    before = {r["platform"]: r for r in report["previous_platforms"]}
    assert set(now) == {"twitter", "linkedin"} and set(before) == {"linkedin"}

    def engaged(row: dict[str, Any]) -> int:
        return int(row["likes"] + row["comments"] + row["shares"])

    assert engaged(before["linkedin"]) == 50  # the history post's 40 + 6 + 4
    for platform in ("twitter", "linkedin"):
        shown_now, shown_before = seen["rows"][platform][1:3]
        assert shown_now == f"{engaged(now[platform]):,}"
        assert shown_before == (f"{engaged(before[platform]):,}" if platform in before else "0")
        assert seen["bars"][(platform, "now")] > 0
    assert seen["bars"][("twitter", "before")] == 0 and seen["bars"][("linkedin", "before")] > 0
    assert sorted(seen["thumbs"]) == sorted([host_page + "shop.png", host_page + "oven.png"])
    assert seen["loaded"] is True
    await hosted.screenshot("report")


@pytest.fixture
async def sandbox_over_http(sandbox: Any) -> AsyncIterator[str]:
    """The Late stand-in on a real loopback socket (the browser PUTs to its presigned links)."""
    async with serving(sandbox, bind_socket("127.0.0.1", 0), lifespan="off") as base:
        yield base


async def test_upload_picker_uploads_each_file_with_a_presigned_link_and_hands_back_public_urls(
    browser: Browser,
    host_page: str,
    sandbox_over_http: str,
    state: SandboxState,
    contract: OpenAPIContract | None,
    tmp_path: Path,
) -> None:
    late = ContractCheckingTransport(httpx2.AsyncHTTPTransport(), contract)  # real HTTP to the stand-in
    settings = dataclasses.replace(make_settings(), base_url=sandbox_over_http + "/api")
    server = build_server(settings, transport=late)
    files = [tiny_png(tmp_path / "croissant.png", (200, 120, 40)), tmp_path / "menu.pdf"]
    files[1].write_bytes(b"%PDF-1.4\n" + b"0" * 40_000 + b"\n%%EOF\n")
    async with Client(server, extensions=[APPS_CLIENT]) as session:
        hosted = HostedApp(browser, session)
        await hosted.mount(host_page, "upload", "media_upload_picker", {})
        await hosted.wait_inside("#pick[accept]")

        def choose(b: Browser) -> None:
            b.wait_for("#pick").send_keys("\n".join(str(f) for f in files))
            b.wait_for('.file[data-name="menu.pdf"]')
            b.wait_for("#upload").click()

        await hosted.inside(choose)
        await hosted.relay(until=lambda: len(hosted.relayed) == 2)
        await hosted.wait_inside("#done:not([hidden])")

        def read(b: Browser) -> dict[str, Any]:
            return {
                "urls": b.wait_for("#urls").get_attribute("value").split("\n"),
                "rows": _texts(b, ".file"),
                "bars": [p.get_attribute("value") for p in b.all(".file progress")],
                "page": b.driver.page_source,
            }

        seen = await hosted.inside(read)
    assert late.violations == []
    assert [r["name"] for r in hosted.relayed] == ["media_upload_link", "media_upload_link"]
    asked = [r["arguments"] for r in hosted.relayed]
    assert asked == [
        {"filename": "croissant.png", "content_type": "image/png", "size_bytes": files[0].stat().st_size},
        {"filename": "menu.pdf", "content_type": "application/pdf", "size_bytes": files[1].stat().st_size},
    ]
    # Both files reached the stand-in's storage, whole.
    stored = sorted((u["size"], u["sha256"]) for u in state.uploads.values())
    expected = sorted((f.stat().st_size, hashlib.sha256(f.read_bytes()).hexdigest()) for f in files)
    assert stored == expected
    assert len(seen["urls"]) == 2 and all(
        u.startswith(sandbox_over_http + "/sandbox-media/uploads/") for u in seen["urls"]
    )
    assert seen["bars"] == ["100", "100"] and all("uploaded" in row for row in seen["rows"])
    # The model is told the public URLs, never the presigned links (their query is a credential).
    told = (await hosted.js("return window.context"))[0]["content"][0]["text"]
    assert all(u in told for u in seen["urls"]) and "X-Expires" not in told
    assert "X-Expires" not in seen["page"] and "sandbox-uploads" not in seen["page"]
    await hosted.screenshot("upload")


NARROW = 360  # px: a phone, or a host's side panel


async def test_every_app_fits_a_narrow_frame_in_dark_mode(
    browser: Browser, host_page: str, session: Client
) -> None:
    today = datetime.now(UTC).date()
    month = {"from_date": str(today - timedelta(days=29)), "to_date": str(today)}
    await ok(session, "posts_create", content="Dark mode check " * 12, accounts=[SEED_ACCOUNT_ACME_TWITTER],
             scheduled_for=(datetime.now(UTC) + timedelta(days=1)).isoformat())  # fmt: skip
    cases: list[tuple[AppName, str, dict[str, Any], str]] = [
        ("calendar", "posts_calendar", {"profile_id": SEED_PROFILE_ACME}, ".day .post"),
        ("preview", "posts_create", {"content": LONG_LINKEDIN, "accounts": ["linkedin", "facebook"],
                                     "profile_id": SEED_PROFILE_ACME, "publish_now": True}, ".target"),
        ("report", "analytics_report", {"profile_id": SEED_PROFILE_ACME, **month}, "#chart rect"),
        ("upload", "media_upload_picker", {}, "#pick[accept]"),
    ]  # fmt: skip
    for app, tool, arguments, ready in cases:
        hosted = HostedApp(browser, session)
        await hosted.mount(host_page, app, tool, arguments, theme="dark", width=NARROW)
        await hosted.wait_inside(ready)

        def measure(b: Browser) -> dict[str, Any]:
            found: dict[str, Any] = b.driver.execute_script(
                "const d = document.documentElement;"
                "const bg = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);"
                "return {scroll: d.scrollWidth, client: d.clientWidth, bg, theme: d.dataset.theme};"
            )
            return found

        seen = await hosted.inside(measure)
        assert seen["client"] <= NARROW and seen["scroll"] <= seen["client"], (
            app,
            seen,
        )  # no sideways scroll
        assert seen["theme"] == "dark" and sum(seen["bg"][:3]) < 150, (app, seen)
        await hosted.run(partial(browser.screenshot, f"{app}-narrow-dark"))


async def test_without_a_host_theme_the_apps_follow_the_systems_dark_mode(
    browser: Browser, host_page: str, session: Client
) -> None:
    dark = {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
    await anyio.to_thread.run_sync(
        partial(browser.driver.execute_cdp_cmd, "Emulation.setEmulatedMedia", dark)
    )
    hosted = HostedApp(browser, session)
    await hosted.mount(host_page, "calendar", "posts_calendar", {"profile_id": SEED_PROFILE_ACME}, theme="")
    await hosted.wait_inside(".day")
    seen = await hosted.inside(lambda b: b.driver.execute_script(
        "return [document.documentElement.dataset.theme || null,"
        " getComputedStyle(document.body).backgroundColor]"))  # fmt: skip
    assert seen == [None, "rgb(21, 24, 28)"]  # no theme from the host: the system's dark one


async def test_the_preview_and_the_calendar_work_from_the_keyboard(
    browser: Browser, host_page: str, session: Client, state: SandboxState
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    def press_until(b: Browser, key: str, element_id: str) -> str:
        b.driver.execute_script("window.focus(); document.body.focus();")
        for _ in range(20):
            ActionChains(b.driver).send_keys(key).perform()
            focused = b.driver.execute_script(
                "return document.activeElement.id || document.activeElement.className"
            )
            if focused == element_id:
                ActionChains(b.driver).send_keys(Keys.ENTER).perform()
                return str(focused)
        raise AssertionError(f"Tab never reached #{element_id}")

    hosted = HostedApp(browser, session)
    arguments = {
        "content": "Typed, not clicked",
        "accounts": [SEED_ACCOUNT_ACME_TWITTER],
        "publish_now": True,
    }
    await hosted.mount(host_page, "preview", "posts_create", arguments)
    await hosted.wait_inside('.target[data-platform="twitter"]')
    await hosted.inside(lambda b: press_until(b, Keys.TAB, "approve"))
    await hosted.relay()
    assert [r["name"] for r in hosted.relayed] == ["posts_create"] and len(state.posts) == 1

    calendar = HostedApp(browser, session)
    await calendar.mount(host_page, "calendar", "posts_calendar", {"profile_id": SEED_PROFILE_ACME})
    await calendar.wait_inside(".day .post")
    await calendar.inside(lambda b: press_until(b, Keys.TAB, "post status-published"))
    await calendar.wait_inside("#detail:not([hidden]) #targets li")
    await calendar.inside(lambda b: ActionChains(b.driver).send_keys(Keys.ESCAPE).perform())
    await calendar.wait_inside("#detail[hidden]")


def test_the_host_page_loads_nothing_from_outside() -> None:
    page = (HOST / "host.html").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    assert json.loads((HOST / "package.json").read_text())["dependencies"]["@modelcontextprotocol/ext-apps"]
