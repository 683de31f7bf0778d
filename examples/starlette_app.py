"""A small Starlette shop behind ConsentMiddleware.

Run it with ``make demo`` (or ``uvicorn examples.starlette_app:app``).
"""

from __future__ import annotations

import secrets

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

from consent import ConsentMiddleware, get_consent

from .shop import (
    MAP_TEXT,
    POLICY,
    SHOP_COOKIES,
    content_security_policy,
    render_page,
    secret_keys,
)


async def home(request: Request) -> HTMLResponse:
    state = get_consent(request)
    # A fresh CSP nonce per response; the banner reads it from the header and reuses it.
    nonce = secrets.token_urlsafe(16)
    page = render_page(state, dict(request.cookies), framework="Starlette", nonce=nonce)
    response = HTMLResponse(page)
    response.headers["content-security-policy"] = content_security_policy(nonce)
    # Set every cookie unconditionally: the middleware removes what was not consented to.
    for name, value, _category in SHOP_COOKIES:
        response.set_cookie(name, value, httponly=True, samesite="lax")
    return response


async def embed_map(request: Request) -> PlainTextResponse:
    """The iframe the page loads only once "functional" is granted."""
    return PlainTextResponse(MAP_TEXT)


async def privacy(request: Request) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang=en><head><title>Privacy</title></head><body>"
        "<main><h1>Privacy policy</h1><p>What we collect and why.</p></main></body></html>"
    )


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def create_app(keys: list[str] | None = None) -> Starlette:
    return Starlette(
        routes=[
            Route("/", home),
            Route("/embed/map", embed_map),
            Route("/privacy", privacy),
            Route("/health", health),
        ],
        middleware=[
            Middleware(ConsentMiddleware, policy=POLICY, secret_keys=keys or secret_keys())
        ],
    )


app = create_app()
