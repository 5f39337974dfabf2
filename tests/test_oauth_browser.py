"""The consent page in a real headless chromium: a person signs in, ticks one profile, approves.

The server is a real `late-mcp --sandbox --transport http` process with a user made by
`late-mcp user add`. The DOM is asserted (every profile listed, nothing ticked, "may write" off),
the page is kept as tests/artifacts/consent.png and copied to docs/screenshots/consent.png (the
README shows it); the code the browser brings back is exchanged for a token limited to that profile.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
from selenium.webdriver.support.ui import WebDriverWait

from browser import Browser
from late_mcp.sandbox.state import SEED_PROFILE_ACME, SEED_PROFILE_NORDIC
from oauthflow import PASSWORD, REDIRECT, add_user, authorize_url, pkce
from test_http_edges import server_process, token_command
from test_http_transports import clean_env

SCREENSHOT = Path(__file__).parent.parent / "docs" / "screenshots" / "consent.png"


def test_a_person_signs_in_ticks_one_profile_and_approves_in_a_real_browser(
    browser: Browser, tmp_path: Path
) -> None:
    env = {**clean_env(), "LATE_MCP_TOKEN_STORE": str(tmp_path / "tokens.sqlite3")}
    add_user(env, "alice", PASSWORD)
    with server_process(env) as (port, _), httpx2.Client() as web:
        base = f"http://127.0.0.1:{port}"
        registered = web.post(
            f"{base}/register",
            json={
                "client_name": "Claude",
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none",
            },
        ).json()
        verifier, challenge = pkce()
        browser.open(authorize_url(base, registered["client_id"], challenge))
        browser.wait_for("form")
        boxes: list[Any] = browser.all('input[type="checkbox"]')
        profiles = {
            box.get_attribute("value"): box for box in boxes if box.get_attribute("name") == "profile"
        }
        assert set(profiles) == {SEED_PROFILE_ACME, SEED_PROFILE_NORDIC}
        assert [box.is_selected() for box in boxes] == [False] * len(boxes)  # nothing pre-ticked
        names = {box.get_attribute("name") for box in boxes}
        assert names == {"profile", "all_profiles", "may_write"}
        text = browser.driver.find_element("css selector", "body").text
        assert "Acme Bakery" in text and "Nordic Outdoor" in text
        assert "Left unticked, it may only read." in text
        application = browser.driver.find_element("css selector", "#application").text
        assert application == '"Claude"'  # quoted: the name is the application's own claim
        assert browser.driver.find_element("css selector", "#redirect-host").text == "127.0.0.1:51999"
        assert browser.driver.execute_script("return document.scripts.length") == 0
        browser.driver.find_element("name", "username").send_keys("alice")
        browser.driver.find_element("name", "password").send_keys(PASSWORD)
        profiles[SEED_PROFILE_ACME].click()
        browser.driver.set_window_size(1024, 1300)
        shot = browser.screenshot("consent")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
        browser.driver.find_element("css selector", 'button[value="approve"]').click()
        # The browser leaves for the application's redirect URI (nothing serves it: its URL is enough).
        WebDriverWait(browser.driver, 15).until(lambda driver: driver.current_url.startswith(REDIRECT))
        landed = urlsplit(browser.driver.current_url)
        assert f"{landed.scheme}://{landed.netloc}{landed.path}" == REDIRECT
        query = parse_qs(landed.query)
        assert query["state"] == ["s1"] and query["iss"] == [base]
        tokens = web.post(
            f"{base}/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": REDIRECT,
                "client_id": registered["client_id"],
                "code_verifier": verifier,
                "resource": f"{base}/mcp",
            },
        )
        assert tokens.status_code == 200, tokens.text
        listed = token_command(env, "list")
        (line,) = [row for row in listed.stdout.splitlines() if row.startswith("oauth:")]
        assert f"\t{SEED_PROFILE_ACME}\tread-only\t" in line and "user alice" in line
