"""A withdrawal deletes the cookie from a real Chromium's jar, however the app scoped it.

The policy declares ``_ga`` with ``domain: shop.test`` while the app sets it host-only
(no Domain attribute). The server cannot see a cookie's scope in a request, so it must
expire every scope the cookie may carry; an expiry with only ``Domain=shop.test`` is
ignored by the browser for a host-only cookie, which then stays in the jar.

``shop.test`` is mapped to loopback by Chromium's own resolver (``--host-resolver-rules``),
so the cookies are scoped to a real registrable domain, not to an IP address.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from consent import ConsentMiddleware, policy_from_string
from tests.browser.server import chromium, serve

pytestmark = pytest.mark.browser

KEY = "withdrawal-browser-test-key-0123456789abcdef"
POLICY = """
categories:
  necessary:
    title: Necessary
    required: true
  analytics:
    title: Analytics
    cookies:
      - name: _ga
        domain: shop.test
"""


def shop_app() -> ASGIApp:
    async def home(request: Request) -> HTMLResponse:
        response = HTMLResponse("<!doctype html><title>shop</title><p>shop</p>")
        response.set_cookie("_ga", "GA1.1.1.1")  # host-only: no Domain attribute
        return response

    app = Starlette(routes=[Route("/", home)])
    return ConsentMiddleware(app, policy=policy_from_string(POLICY), secret_keys=KEY)


@pytest.fixture(scope="module")
def shop_context() -> Iterator[BrowserContext]:
    resolve = ("--host-resolver-rules=MAP shop.test 127.0.0.1", "--disable-features=HttpsUpgrades")
    with serve(shop_app()) as origin, chromium(*resolve) as browser:
        port = origin.rsplit(":", 1)[1]
        context = browser.new_context(base_url=f"http://shop.test:{port}")
        context.set_default_timeout(10_000)  # all loopback: fail fast
        yield context


def choose(context: BrowserContext, action: str) -> None:
    """Post the choice from the page, so that Chromium itself handles the response."""
    page = context.pages[0]
    status = page.evaluate(
        """(action) => fetch("/consent", {method: "POST",
             headers: {"content-type": "application/json"},
             body: JSON.stringify({action})}).then((r) => r.status)""",
        action,
    )
    assert status == 200


def ga_cookies(context: BrowserContext) -> list[str]:
    return [str(c.get("domain")) for c in context.cookies() if c.get("name") == "_ga"]


def test_reject_all_deletes_a_host_only_cookie_declared_with_a_domain(
    shop_context: BrowserContext,
) -> None:
    page = shop_context.new_page()
    page.goto("/")
    assert ga_cookies(shop_context) == []  # undecided: the app's _ga never left

    choose(shop_context, "accept_all")
    page.goto("/")
    assert ga_cookies(shop_context) == ["shop.test"]  # host-only (no leading dot)

    choose(shop_context, "reject_all")
    assert ga_cookies(shop_context) == []
