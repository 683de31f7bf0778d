"""A small Starlette shop behind ConsentMiddleware.

Run it with ``make demo`` (or ``uvicorn examples.starlette_app:app``). Besides the home
page it has a catalogue of 40 product pages, a sitemap and a robots.txt: a site for
``consent scan`` to crawl (``python -m bench.scan`` times a scan of it).
"""

from __future__ import annotations

import html
import secrets

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from consent import ConsentMiddleware, get_consent

from .shop import (
    MAP_TEXT,
    PAGE_STYLE,
    POLICY,
    SHOP_COOKIES,
    content_security_policy,
    render_nav,
    render_page,
    secret_keys,
)

NAV = (("/", "Home"), ("/products", "Products"), ("/privacy", "Privacy"))
MAP_URL = "/embed/map"  # the map iframe, which loads once "functional" is granted
GLAZES = ("blue", "green", "white", "black", "speckled")
PIECES = ("teapot", "mug", "bowl", "plate", "jug", "vase", "cup", "saucer")
# slug → name: "/products/blue-teapot" is the page of the blue teapot.
PRODUCTS = {
    f"{glaze}-{piece}": f"{glaze.capitalize()} {piece}" for glaze in GLAZES for piece in PIECES
}


async def home(request: Request) -> HTMLResponse:
    state = get_consent(request)
    # A fresh CSP nonce per response; the banner reads it from the header and reuses it.
    nonce = secrets.token_urlsafe(16)
    page = render_page(
        state, dict(request.cookies), framework="Starlette", nonce=nonce, nav=NAV, map_url=MAP_URL
    )
    response = HTMLResponse(page)
    response.headers["content-security-policy"] = content_security_policy(nonce)
    # Set every cookie unconditionally: the middleware removes what was not consented to.
    for name, value, _category in SHOP_COOKIES:
        response.set_cookie(name, value, httponly=True, samesite="lax")
    return response


async def embed_map(request: Request) -> PlainTextResponse:
    """The iframe the page loads only once "functional" is granted."""
    return PlainTextResponse(MAP_TEXT)


def simple_page(title: str, body: str) -> HTMLResponse:
    """A page of the shop with the navigation; the middleware adds the banner to it."""
    return HTMLResponse(
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style></head><body>"
        f"{render_nav(NAV)}<main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


async def privacy(request: Request) -> HTMLResponse:
    return simple_page("Privacy policy", "<p>What we collect and why.</p>")


async def products(request: Request) -> HTMLResponse:
    items = "".join(
        f'<li><a href="/products/{slug}">{html.escape(name)}</a></li>'
        for slug, name in PRODUCTS.items()
    )
    return simple_page("Products", f"<ul>{items}</ul>")


async def product(request: Request) -> HTMLResponse:
    name = PRODUCTS.get(request.path_params["slug"])
    if name is None:
        raise HTTPException(status_code=404)
    return simple_page(name, f"<p>{html.escape(name)}, thrown and glazed in our workshop.</p>")


async def sitemap(request: Request) -> Response:
    """Every page of the shop, for search engines and for ``consent scan``."""
    urls = [request.url_for("home"), request.url_for("products"), request.url_for("privacy")]
    urls += [request.url_for("product", slug=slug) for slug in PRODUCTS]
    entries = "".join(f"<url><loc>{html.escape(str(url))}</loc></url>" for url in urls)
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>\n'
    )
    return Response(xml, media_type="application/xml")


async def robots(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"User-agent: *\nAllow: /\nSitemap: {request.url_for('sitemap')}\n")


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def create_app(keys: list[str] | None = None) -> Starlette:
    return Starlette(
        routes=[
            Route("/", home),
            Route(MAP_URL, embed_map),
            Route("/privacy", privacy),
            Route("/products", products),
            Route("/products/{slug}", product),
            Route("/sitemap.xml", sitemap),
            Route("/robots.txt", robots),
            Route("/health", health),
        ],
        middleware=[
            Middleware(ConsentMiddleware, policy=POLICY, secret_keys=keys or secret_keys())
        ],
    )


app = create_app()
