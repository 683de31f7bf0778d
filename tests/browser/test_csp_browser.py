"""The consent-driven CSP in a real Chromium: a host of a category not granted is refused by
the browser itself, and loads once the visitor grants the category.

Two uvicorn servers on loopback: the site (ConsentMiddleware, CSP on) and a "third-party
host" on another port, declared in the analytics category's ``hosts``. The third party
records every request it gets, so "refused" means the browser never asked it.

The servers live in this file on purpose (``csp_sites``): this test needs two of them
and its own policy, not the shared example shop; the browser is the shared one
(tests/browser/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, Page
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from consent import ConsentMiddleware, csp_nonce, policy_from_string
from tests.browser.server import serve

pytestmark = pytest.mark.browser

KEY = "csp-browser-test-key-0123456789abcdef"
APP_NONCE = "AppOwnNonce123"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="3" height="2"></svg>'
# Set up by the first inline script: which scripts ran and what the browser refused.
PAGE = """<!doctype html><html><head><title>csp</title>
<script nonce="{nonce}">
  window.violations = [];
  document.addEventListener("securitypolicyviolation", (e) => {{
    window.violations.push(e.blockedURI);
  }});
  window.taggedRan = true;
</script>
<script>window.untaggedRan = true;</script>
<script src="{third}/tracker.js"></script>
</head><body><img id="pixel" src="{third}/pixel.svg" alt=""></body></html>"""


@dataclass
class ThirdParty:
    """A host of the analytics category; ``requested`` lists the paths it was asked for."""

    requested: list[str] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.requested.append(scope["path"])
        if scope["path"] == "/tracker.js":
            body, media_type = b"window.trackerRan = true;", "text/javascript"
        else:
            body, media_type = SVG, "image/svg+xml"
        response = Response(body, media_type=media_type, headers={"cache-control": "no-store"})
        await response(scope, receive, send)


@dataclass(frozen=True)
class Sites:
    site: str
    third: str
    third_party: ThirdParty


def site_app(third: str) -> ASGIApp:
    policy = policy_from_string(f"""
csp:
  enabled: true
  directives: [script-src, img-src, connect-src, frame-src]
categories:
  necessary:
    title: Necessary
    required: true
  analytics:
    title: Analytics
    hosts: ["{third}"]
""")

    async def plain(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE.format(nonce=csp_nonce(request), third=third))

    async def permissive(request: Request) -> HTMLResponse:
        # The app's own policy allows everything, inline scripts included.
        headers = {"content-security-policy": "script-src * 'unsafe-inline'; img-src *"}
        return HTMLResponse(PAGE.format(nonce="unused", third=third), headers=headers)

    async def strict(request: Request) -> HTMLResponse:
        # The app's own policy, with its own nonce, allows no third party at all.
        headers = {"content-security-policy": f"script-src 'self' 'nonce-{APP_NONCE}'"}
        return HTMLResponse(PAGE.format(nonce=APP_NONCE, third=third), headers=headers)

    routes = [Route("/", plain), Route("/permissive", permissive), Route("/strict", strict)]
    return ConsentMiddleware(Starlette(routes=routes), policy=policy, secret_keys=KEY)


@pytest.fixture(scope="module")
def csp_sites() -> Iterator[Sites]:
    third_party = ThirdParty()
    with serve(third_party) as third, serve(site_app(third)) as site:
        yield Sites(site, third, third_party)


@pytest.fixture
def csp_page(browser: Browser, csp_sites: Sites) -> Iterator[Page]:
    context = browser.new_context(base_url=csp_sites.site)
    context.set_default_timeout(10_000)  # everything here is loopback: fail fast
    csp_sites.third_party.requested.clear()
    yield context.new_page()
    context.close()


def ran(page: Page, flag: str) -> bool:
    return bool(page.evaluate(f"window.{flag} === true"))


def wait_refused(page: Page, sites: Sites, *names: str) -> None:
    """Wait for the browser's violation reports of ``names`` on the third-party host."""
    urls = [f"{sites.third}/{name}" for name in names]
    page.wait_for_function("(urls) => urls.every((u) => window.violations.includes(u))", arg=urls)


def choose(page: Page, method: str, body: str | None = None) -> None:
    """Change consent the way a banner does: a same-origin fetch to the endpoint."""
    status = page.evaluate(
        """([method, body]) => fetch("/consent", {
            method, body, headers: {"content-type": "application/json"},
        }).then((r) => r.status)""",
        [method, body],
    )
    assert status == 200


def test_third_party_is_refused_before_consent_and_loads_after(
    csp_page: Page, csp_sites: Sites
) -> None:
    page = csp_page
    page.goto("/")
    wait_refused(page, csp_sites, "tracker.js", "pixel.svg")
    assert ran(page, "taggedRan")  # the app's inline script carries the nonce
    assert not ran(page, "untaggedRan")
    assert not ran(page, "trackerRan")
    assert csp_sites.third_party.requested == []  # the browser never asked the host

    choose(page, "POST", '{"granted": ["analytics"]}')
    page.reload()
    page.wait_for_function("window.trackerRan === true")
    assert page.evaluate("document.getElementById('pixel').naturalWidth") == 3
    assert page.evaluate("window.violations.filter((u) => u.startsWith('http'))") == []
    assert sorted(csp_sites.third_party.requested) == ["/pixel.svg", "/tracker.js"]

    choose(page, "DELETE")
    page.reload()
    wait_refused(page, csp_sites, "tracker.js", "pixel.svg")
    assert not ran(page, "trackerRan")


def test_a_permissive_app_policy_does_not_let_the_host_through(
    csp_page: Page, csp_sites: Sites
) -> None:
    page = csp_page
    page.goto("/permissive")
    wait_refused(page, csp_sites, "tracker.js", "pixel.svg")
    assert ran(page, "untaggedRan")  # the app allows inline scripts: so do we
    assert not ran(page, "trackerRan")
    choose(page, "POST", '{"action": "accept_all"}')
    page.reload()
    page.wait_for_function("window.trackerRan === true")


def test_consent_never_loosens_the_app_policy(csp_page: Page, csp_sites: Sites) -> None:
    page = csp_page
    page.goto("/strict")
    assert ran(page, "taggedRan")  # the app's own nonce works under both policies
    choose(page, "POST", '{"action": "accept_all"}')
    page.reload()
    wait_refused(page, csp_sites, "tracker.js")  # granted, but the app's policy refuses it
    assert ran(page, "taggedRan")
    assert not ran(page, "trackerRan")
    assert "/tracker.js" not in csp_sites.third_party.requested
