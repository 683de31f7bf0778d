"""Fixtures for the browser tests: the example shop on uvicorn and Debian's Chromium.

Outside CI a missing Chromium (or axe-core) skips these tests with a message; in CI
(``CI=true``) it fails them, so a broken set-up cannot pass unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.conftest import missing

from .server import chromium, serve_example

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    with serve_example() as url:
        yield url


# Module scope, not session: Playwright's sync API owns an event loop in this thread while
# it runs, and tests after these (anyio.run, asyncio.run) need the thread back.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def context(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=base_url, locale="en-GB")
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def nojs_page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, locale="en-GB", java_script_enabled=False)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        missing(f"axe-core is not installed at {AXE}; run `make browser-deps` (npm ci)")
    return AXE.read_text(encoding="utf-8")
