"""The site behind every stack: a Starlette shop whose home page sets three cookies.

``/`` is what the benchmark times: a page of about 4 KB, as a small shop's home page
is, that reads the visitor's ``sid`` and sets ``sid`` (HttpOnly), ``_ga`` and ``_fbp``
the way an app does, with ``response.set_cookie``. The other routes are only used
before the timing: ``/login`` to obtain a real session cookie, ``/cookies`` to see which
request cookies reached the app, ``/server`` to see which process serves and how.
"""

from __future__ import annotations

import asyncio
import html
import os
import sys
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

PRODUCTS = (
    ("Linen shirt", "Washed linen, relaxed fit, mother-of-pearl buttons.", 59),
    ("Wool scarf", "Merino wool, woven in Scotland, 180 x 30 cm.", 45),
    ("Canvas tote", "Heavy organic cotton canvas with an inside pocket.", 25),
    ("Leather belt", "Vegetable-tanned leather, solid brass buckle.", 49),
    ("Rain jacket", "Waxed cotton, taped seams, a hood that folds away.", 139),
    ("Felt slippers", "Boiled wool uppers on a natural rubber sole.", 55),
    ("Ceramic mug", "Stoneware, glazed by hand, holds 350 ml.", 18),
    ("Notebook", "A5, dotted pages, lay-flat binding, 192 pages.", 16),
)


def _product(index: int, name: str, text: str, price: int) -> str:
    slug = name.lower().replace(" ", "-")
    return (
        f'      <li class="product" data-id="{index}">\n'
        f'        <a href="/products/{slug}"><img src="/static/img/{slug}.jpg" alt="" '
        f'width="240" height="240" loading="lazy"></a>\n'
        f'        <h2><a href="/products/{slug}">{html.escape(name)}</a></h2>\n'
        f"        <p>{html.escape(text)}</p>\n"
        f'        <p class="price">€{price}.00 <button type="button" '
        f'data-add="{index}">Add to basket</button></p>\n'
        "      </li>\n"
    )


# Split where the greeting goes: the handler only concatenates three strings.
PAGE_HEAD = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="description" content="Clothes and things for the home, made to last.">
    <title>Fieldwork &amp; Co. — clothes and things for the home</title>
    <link rel="stylesheet" href="/static/shop.css">
    <link rel="icon" href="/static/favicon.svg">
  </head>
  <body>
    <header>
      <a class="logo" href="/">Fieldwork &amp; Co.</a>
      <nav><a href="/new">New in</a> <a href="/clothes">Clothes</a>
      <a href="/home">Home</a> <a href="/basket">Basket</a></nav>
      <p class="greeting">"""
PAGE_TAIL = (
    """</p>
    </header>
    <main>
      <h1>New this week</h1>
      <ul class="products">
"""
    + "".join(_product(i, *product) for i, product in enumerate(PRODUCTS))
    + """      </ul>
    </main>
    <footer>
      <p><a href="/privacy">Privacy</a> · <a href="/terms">Terms</a> ·
      <a href="/contact">Contact</a></p>
    </footer>
  </body>
</html>
"""
)
ONE_YEAR = 365 * 24 * 3600


def greeting(user: object) -> str:
    """What the page says to a signed-in customer; the session check looks for it."""
    return f"Signed in as customer {user}"


class _Served:
    """How many pages this process has served: the benchmark reads it around a timed
    window (``/served``), so that a window counts exactly the requests it timed."""

    pages = 0


async def home(request: Request) -> Response:
    _Served.pages += 1
    sid = request.cookies.get("sid") or os.urandom(12).hex()
    text = "Welcome"
    if "session" in request.scope:
        session = request.session
        user = session.get("user")
        if user is not None:
            text = greeting(user)
            if request.app.state.write_session:
                session["seen"] = int(time.time())  # rolling "last seen": re-signed each time
    response = HTMLResponse(PAGE_HEAD + text + PAGE_TAIL)
    now = int(time.time())
    response.set_cookie("sid", sid, max_age=ONE_YEAR, httponly=True, samesite="lax")
    response.set_cookie("_ga", f"GA1.1.{sid[:10]}.{now}", max_age=2 * ONE_YEAR)
    response.set_cookie("_fbp", f"fb.1.{now}000.{sid[-10:]}", max_age=90 * 24 * 3600)
    return response


async def login(request: Request) -> Response:
    user = int(request.query_params.get("user", "1"))
    request.session.update({"user": user, "cart": [user % 7, 3], "lang": "en"})
    return JSONResponse({"user": user})


async def served(request: Request) -> Response:
    return JSONResponse({"pages": _Served.pages})


async def cookies(request: Request) -> Response:
    return JSONResponse(sorted(request.cookies))


async def server(request: Request) -> Response:
    """The process that answers and what uvicorn picked for it (shown in the report)."""
    http = "httptools" if "uvicorn.protocols.http.httptools_impl" in sys.modules else "h11"
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    return JSONResponse({"pid": os.getpid(), "http": http, "loop": loop})


def create_app(*, write_session: bool = False) -> Starlette:
    """The shop; ``write_session``: the page writes to the session on every response."""
    app = Starlette(
        routes=[
            Route("/", home),
            Route("/login", login),
            Route("/cookies", cookies),
            Route("/server", server),
            Route("/served", served),
        ]
    )
    app.state.write_session = write_session
    return app
