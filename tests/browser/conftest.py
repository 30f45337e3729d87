"""Fixtures of the browser tests: Playwright driving Debian's Chromium (never a downloaded browser), one
browser per session, a fresh page per test, and a helper that saves screenshots under test-artifacts/.

Chromium is installed by the test setup (scripts/test runs apt-get when /usr/bin/chromium is missing). Where
it still is missing the tests skip with the reason, except on CI (the CI variable set), where they fail.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# the real-server helpers of the server tests (running_server, free_port)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

CHROMIUM = os.environ.get("CHROMIUM_EXECUTABLE", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return (f"no Chromium at {CHROMIUM}: scripts/test installs it with apt-get "
                "(apt-get install chromium), or set CHROMIUM_EXECUTABLE")
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator:
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run on CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator:
    """A fresh context and page; page errors and console errors are collected on ``page.problems``."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type == "error" else None)
    page.problems = problems
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshot():
    """``screenshot(page_or_locator, name)`` saves a PNG as test-artifacts/browser/{name}.png (a whole page,
    or just the element a locator names). Long pages (the catalog, an index of 50 rows) take a while to
    capture on a busy machine, hence the longer timeout."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(target, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        if hasattr(target, "goto"):
            target.screenshot(path=str(path), full_page=True, timeout=60_000)
        else:
            target.screenshot(path=str(path), timeout=60_000)
        return path

    return save
