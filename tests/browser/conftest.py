"""Headless Chromium (Debian's chromium + chromium-driver, driven by selenium) for tests that look at our pages
as a person does: loopback only, no network beyond it, screenshots under reports/browser/."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from contract.paths import REPORTS_DIR

SCREENSHOTS = REPORTS_DIR / "browser"
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
WINDOW = (1400, 1000)
# No traffic beyond loopback: gradio's pages ask a CDN for fonts and scripts, which fail here and must not
# break the page; Chromium's own background requests (updates, sync, safe browsing) are switched off.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--lang=zh-CN")


def chromium_paths() -> tuple[str, str] | None:
    browser = next((found for name in CHROMIUM if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    paths = chromium_paths()
    if paths is None:
        pytest.skip("Chromium and ChromeDriver are not installed (Debian: apt-get install chromium chromium-driver "
                    "fonts-noto-cjk; .ci/run installs them)")
    pytest.importorskip("selenium", reason="selenium is a test dependency: pip install -e '.[test]'")
    return paths


@pytest.fixture
def browser(chromium, tmp_path):
    """A fresh headless Chromium with its own empty profile; closed after the test."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium[0]
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for page_errors()
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(chromium[1]), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, condition: Callable[[], object], timeout: float = 60, what: str = "the page") -> object:
    """Poll `condition` until it returns something truthy; on timeout fail with a screenshot of the page."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except Exception:  # an element replaced while gradio re-renders: look again
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            shot = screenshot(driver, "timeout")
            raise AssertionError(f"{what} did not show within {timeout:g} s (screenshot: {shot})")
        time.sleep(0.25)


def screenshot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def visible_texts(driver, css: str) -> list[str]:
    return [e.text.strip() for e in driver.find_elements("css selector", css) if e.is_displayed() and e.text.strip()]


def error_badges(driver) -> list[str]:
    """What gradio shows a person when something failed: error toasts, and 'Error' badges on components."""
    toasts = [t.text for t in driver.find_elements("css selector", "[data-testid='toast-body']")
              if "error" in (t.get_attribute("class") or "") and t.is_displayed()]
    badges = [e.text for e in driver.find_elements("xpath", "//*[normalize-space(text())='Error' or "
                                                           "normalize-space(text())='错误']") if e.is_displayed()]
    return toasts + badges


def page_errors(driver, allowed: tuple[str, ...] = ()) -> list[str]:
    """The console's errors since the last call, less those expected offline: requests to hosts beyond loopback
    (gradio's CDN fonts and iframe-resizer script) and gradio's manifest.json 404; `allowed`: more expected
    substrings."""
    network = ("net::ERR_NAME_NOT_RESOLVED", "net::ERR_INTERNET_DISCONNECTED", "net::ERR_CONNECTION_REFUSED")
    known = ("Unable to preload CSS for https://", "/manifest.json", *allowed)
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    # "<url> - <what failed>": a network failure is expected only for a url beyond loopback
    offline = [m for m in errors if any(n in m for n in network) and "127.0.0.1" not in m.split(" - ")[0]]
    return [m for m in errors if m not in offline and not any(k in m for k in known)]


def settled(driver) -> bool:
    """gradio has mounted the app and no component shows its pending/loading state."""
    return driver.execute_script(
        "const app = document.querySelector('gradio-app .gradio-container, .gradio-container');"
        "return !!app && document.querySelectorAll('.pending, .generating, .eta-bar').length === 0;")
