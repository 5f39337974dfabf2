"""A real headless browser for tests: Debian's `chromium`, driven through `chromedriver` (selenium).

`browser` (the fixture in conftest) hands a test a fresh `Browser`; `Browser.screenshot(name)` keeps
a PNG in `tests/artifacts/` (git-ignored) and returns its path, so a failing run leaves evidence.
Without chromium or chromedriver the tests skip and say why; in CI (`CI=true`) they fail instead,
because the README's test command installs both.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from contract import not_run

ARTIFACTS = Path(__file__).parent / "artifacts"


def unavailable(reason: str) -> None:
    """Skip (or, in CI, fail) a browser test with the reason."""
    not_run("browser test", reason)


def chromium_paths() -> tuple[str, str]:
    """The chromium binary and its chromedriver, or skip/fail saying which is missing."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        missing = "chromium" if binary is None else "chromedriver"
        unavailable(f"{missing} is not installed (Debian: apt-get install -y chromium chromium-driver)")
    assert binary is not None and driver is not None
    return binary, driver


class Browser:
    """One headless chromium window; `driver` is the selenium WebDriver for anything not wrapped."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def open(self, url: str) -> None:
        self.driver.get(url)

    def screenshot(self, name: str) -> Path:
        """Keep a PNG of the page as a test artefact; returns its path."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def wait_for(self, css: str, timeout: float = 15.0) -> Any:
        """The first element matching `css`, waiting up to `timeout` seconds for it to appear."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))


@contextmanager
def headless_chromium(width: int = 1024, height: int = 800) -> Iterator[Browser]:
    """Start chromium headless with its own throw-away profile; always quit it."""
    binary, driver_path = chromium_paths()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:  # pragma: no cover - selenium is in the test extra
        unavailable("selenium is not installed (pip install -e '.[test]')")
        raise
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    profile = tempfile.mkdtemp(prefix="late-mcp-chromium-")
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        f"--window-size={width},{height}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield Browser(driver)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
