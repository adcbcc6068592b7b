"""The bundled web client in a real headless Chromium, against a real clusterd
and real elektrads.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``scripts/setup
test``): Playwright cannot download its own browser here. Without it these
tests are skipped, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from elektra_web.clusterd.app import ClusterdConfig

from ..clusterd import conftest as clusterd_tests
from ..clusterd.conftest import TEST_SETTINGS, Clusterd, serve_clusterd
from ..clusterd.conftest import elektrads as elektrads  # the fixture, shared

CHROMIUM = os.environ.get("ELEKTRA_WEB_CHROMIUM", "/usr/bin/chromium")
#: Quiet on a closed network (see shared/design/stack-notes.md).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# Live updates cross two daemons and a browser on a shared machine (CI runs
# the whole suite there): wait up to 10 s for what a person would see.
expect.set_options(timeout=10_000)


# Package scope, not session: while Playwright's sync API runs, the main
# thread counts as running an event loop, so asyncio.run() (the PostgreSQL
# fixtures of other packages) would fail there.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (scripts/setup test installs Debian's chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    yield launched
    launched.close()


class PageErrors(list[str]):
    """Uncaught exceptions and console errors of a page (CSP violations too)."""

    def attach(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.append(f"uncaught: {error}"))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        text = message.text
        # A refused request (401 in the sign-in test, a server gone on
        # purpose) is logged by the browser itself; the page handles it.
        if re.search(r"Failed to load resource|WebSocket connection to .* failed", text):
            return
        self.append(text)


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def new_page(browser: Browser, page_errors: PageErrors) -> Iterator[Callable[..., Page]]:
    """``new_page()``: a page in a fresh browser context (own storage), 1280x800
    unless ``viewport=`` says otherwise; closed after the test."""
    contexts: list[Any] = []

    def make(viewport: dict[str, int] | None = None) -> Page:
        context = browser.new_context(viewport=viewport or DESKTOP)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page_errors.attach(page)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not page_errors, page_errors


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()


@pytest.fixture
def clusterd(tmp_path: Path) -> Iterator[Clusterd]:
    """A real clusterd on an SQLite file (the browser tests do not need PostgreSQL)."""
    config = ClusterdConfig(
        database_url=f"sqlite://{tmp_path / 'clusterd.sqlite3'}", settings=TEST_SETTINGS
    )
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield Clusterd(url, http)


@pytest.fixture
def token() -> str | None:
    """The token the page signs in with: the test clusterd's admin token
    (None on a clusterd without tokens, where every caller is an admin)."""
    secret: str | None = getattr(clusterd_tests, "ADMIN_TOKEN", None)
    return secret


def open_client(page: Page, clusterd_url: str, token: str | None) -> None:
    """Open the web client the way a person follows the link they were given."""
    page.goto(f"{clusterd_url}/#token={token}" if token else f"{clusterd_url}/")


@pytest.fixture
def client(page: Page, clusterd: Clusterd, token: str | None) -> Page:
    """The web client, open on the overview."""
    open_client(page, clusterd.url, token)
    return page


def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    """Save docs/screenshots/NAME.png when SCREENSHOTS=1 (the README shows them)."""
    if os.environ.get("SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # Let the highlight of a change fade first.
        page.wait_for_function("() => !document.querySelector('.flash')")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
