"""A small shop for the crawler's tests, with a third party of its own.

Two apps on loopback ports of their own, which Chromium reaches by name through its
host resolver rules (``CHROMIUM_ARGS``): the shop at ``http://shop.test:PORT`` behind
``ConsentMiddleware``, and a tracker at ``http://tracker.example:PORT2``, another site.

What the shop stores, and when:

============================  ================================  ====================
what                          how                               phases
============================  ================================  ====================
``sid``                       Set-Cookie of ``/`` (necessary)   all
``_ga``                       Set-Cookie of ``/`` (analytics)   accepted (middleware)
``_tracker``                  inline script, on purpose before  all (a violation)
                              any choice
``_tp_js``, IndexedDB         the tracker's ``tag.js`` on the   accepted (the page
``tracker-db``, a websocket   shop's page                       loads it if granted)
``_tf``, ``_tf_http``,        the tracker's iframe on ``/``     all (the browser may
localStorage ``tf_key``                                         refuse its cookies)
localStorage ``theme``        inline script of ``/``            all
``pref_cs``                   ``cookieStore`` on ``/about``     all (secure contexts)
sessionStorage                ``/sitemap-only``, listed only    all
``from_sitemap``              in the nested sitemap
localStorage ``linked_only``  ``/linked-only``, only linked     all
``old_http``, ``old_js``      deleted by ``/about``: never set  none
============================  ================================  ====================

``/`` also links to what the crawler must not follow twice or at all: five products (a
pattern), ``/about`` with ``utm_*``, ``gclid`` and fragments, a PDF, ``/logout``, the
consent endpoint's own page, ``mailto:`` and the tracker.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from consent import ConsentMiddleware, get_consent, policy_from_string
from tests.browser.server import serve

KEY = "discovery-test-key-0123456789abcdef"
SHOP_HOST = "shop.test"
TRACKER_HOST = "tracker.example"
# No proof-of-consent records: the tests write no database.
POLICY = """
records: false
categories:
  necessary:
    title: Necessary
    required: true
    cookies:
      - name: sid
      - name: old_http
  analytics:
    title: Analytics
    cookies:
      - name: _ga
"""
PRODUCTS = 5
GIF = base64.b64decode("R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==")
NO_STORE = {"cache-control": "no-store"}


def page(title: str, body: str, script: str = "") -> HTMLResponse:
    # A </body> for the banner; no-store, so each phase asks the server again.
    html = (
        f"<!doctype html><html lang=en><head><title>{title}</title>"
        f"<script>{script}</script></head><body><h1>{title}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, headers=NO_STORE)


def shop_app(tracker: str) -> ASGIApp:
    async def home(request: Request) -> HTMLResponse:
        tag = f'<script src="{tracker}/tag.js"></script>'
        links = "".join(f'<a href="/products/{n}">product {n}</a>' for n in range(1, PRODUCTS + 1))
        links += (
            '<a href="/about?utm_source=news&utm_medium=mail#team">about</a>'
            '<a href="/about#top">about</a><a href="/about?gclid=abc">about</a>'
            '<a href="/linked-only">linked</a><a href="/files/menu.pdf">menu</a>'
            '<a href="/logout">log out</a><a href="/consent/preferences">cookies</a>'
            f'<a href="mailto:shop@{SHOP_HOST}">mail</a><a href="{tracker}/offsite">partner</a>'
        )
        body = (
            f'<iframe src="{tracker}/frame" title="partner"></iframe>'
            f'<img src="{tracker}/pixel.gif" alt=""><img src="{tracker}/pixel.gif?n=2" alt="">'
            + links
            + (tag if get_consent(request).allows("analytics") else "")
        )
        script = (
            'document.cookie = "_tracker=1; Max-Age=86400; Path=/";'
            'localStorage.setItem("theme", "dark");'
        )
        response = page("Shop", body, script)
        response.set_cookie("sid", "basket-1", httponly=True, samesite="lax")
        response.set_cookie("_ga", "GA1.1.1.1", max_age=3600)
        return response

    async def product(request: Request) -> HTMLResponse:
        return page(f"Product {request.path_params['n']}", '<a href="/">home</a>')

    async def about(request: Request) -> HTMLResponse:
        script = (
            'if (window.cookieStore) cookieStore.set("pref_cs", "1");'
            'document.cookie = "old_js=; Max-Age=0; Path=/";'  # a deletion, not a cookie set
        )
        # A sandboxed frame has an opaque origin: no storage to read.
        response = page("About", '<iframe sandbox srcdoc="<p>ad</p>"></iframe>', script)
        response.delete_cookie("old_http")
        return response

    async def linked_only(request: Request) -> HTMLResponse:
        script = (
            'localStorage.setItem("linked_only", "1");'
            # A page that calls the scanner's binding itself must not upset the scan.
            "const probe = window.__consentScanCookie;"
            'if (probe) { probe(42); probe({name: 1, attributes: ""}); probe({name: "x"}); }'
        )
        return page("Linked only", "", script)

    async def sitemap_only(request: Request) -> HTMLResponse:
        return page("Sitemap only", "", 'sessionStorage.setItem("from_sitemap", "1");')

    async def logout(request: Request) -> HTMLResponse:
        return page("Logged out", "")

    async def robots(request: Request) -> PlainTextResponse:
        # What robots.txt files get wrong too: a sitemap listed twice, one of another
        # scheme, /sitemap.xml that is not one.
        origin = f"http://{request.headers['host']}"
        text = (
            "User-agent: *\nDisallow: /private\n\n"
            f"Sitemap: {origin}/sitemap-index.xml # all\nSitemap: {origin}/sitemap.xml\n"
            "Sitemap: ftp://shop.test/old-sitemap.xml\n"
        )
        return PlainTextResponse(text)

    async def not_a_sitemap(request: Request) -> HTMLResponse:
        return page("Our sitemap", "<p>Browse our pages.</p>")

    async def sitemap_index(request: Request) -> Response:
        origin = f"http://{request.headers['host']}"
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{origin}/sitemap-pages.xml</loc></sitemap></sitemapindex>"
        )
        return Response(xml, media_type="application/xml")

    async def sitemap_pages(request: Request) -> Response:
        origin = f"http://{request.headers['host']}"
        urls = "".join(f"<url><loc>{origin}{path}</loc></url>" for path in ("/", "/sitemap-only"))
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        )
        return Response(xml, media_type="application/xml")

    routes = [
        Route("/", home),
        Route("/products/{n:int}", product),
        Route("/about", about),
        Route("/linked-only", linked_only),
        Route("/sitemap-only", sitemap_only),
        Route("/logout", logout),
        Route("/robots.txt", robots),
        Route("/sitemap-index.xml", sitemap_index),
        Route("/sitemap-pages.xml", sitemap_pages),
        Route("/sitemap.xml", not_a_sitemap),
    ]
    policy = policy_from_string(POLICY)
    return ConsentMiddleware(Starlette(routes=routes), policy=policy, secret_keys=KEY)


def tracker_app() -> ASGIApp:
    async def frame(request: Request) -> HTMLResponse:
        script = 'document.cookie = "_tf=1; Path=/"; localStorage.setItem("tf_key", "1");'
        response = page("Partner", "", script)
        response.set_cookie("_tf_http", "1")
        return response

    async def tag(request: Request) -> Response:
        origin = f"http://{request.headers['host']}"
        script = (
            'document.cookie = "_tp_js=1; Max-Age=3600; Path=/";'
            'indexedDB.open("tracker-db");'
            f'fetch("{origin}/collect", {{mode: "no-cors"}});'
            # A live connection: refused here (no websocket server), noted all the same.
            f'new WebSocket("ws://{request.headers["host"]}/live");'
        )
        return Response(script, media_type="text/javascript", headers=NO_STORE)

    async def pixel(request: Request) -> Response:
        return Response(GIF, media_type="image/gif", headers=NO_STORE)

    async def collect(request: Request) -> Response:
        return Response(status_code=204)

    async def offsite(request: Request) -> HTMLResponse:
        return page("Partner site", "")

    routes = [
        Route("/frame", frame),
        Route("/tag.js", tag),
        Route("/pixel.gif", pixel),
        Route("/collect", collect),
        Route("/offsite", offsite),
    ]
    return Starlette(routes=routes)


@dataclass(frozen=True)
class Sites:
    shop: str  # http://shop.test:PORT
    tracker: str  # http://tracker.example:PORT2
    chromium_args: tuple[str, ...]  # what the browser needs to reach them by name


@contextmanager
def discovery_sites() -> Iterator[Sites]:
    """Serve the tracker and the shop; yield their names and Chromium's arguments."""
    with serve(tracker_app()) as tracker_origin:
        tracker = f"http://{TRACKER_HOST}:{port_of(tracker_origin)}"
        with serve(shop_app(tracker)) as shop_origin:
            shop = f"http://{SHOP_HOST}:{port_of(shop_origin)}"
            args = (
                f"--host-resolver-rules=MAP {SHOP_HOST} 127.0.0.1, MAP {TRACKER_HOST} 127.0.0.1",
                # Plain http is what loopback serves: no upgrade to https.
                "--disable-features=HttpsUpgrades",
                # cookieStore exists in secure contexts only.
                f"--unsafely-treat-insecure-origin-as-secure={shop}",
            )
            yield Sites(shop, tracker, args)


def port_of(origin: str) -> str:
    return origin.rsplit(":", 1)[1]
