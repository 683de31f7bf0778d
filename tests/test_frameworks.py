"""The example shop on every supported framework, through the same HTTP assertions.

Each example sets one cookie of every category on ``GET /`` and renders what its
handler saw: the consent state and the cookie names parsed by the framework itself
(``request.cookies`` in Starlette, FastAPI, Litestar and Flask, ``request.COOKIES`` in
Django). The WSGI apps (Flask, Django under WSGI) run behind a2wsgi's WSGIMiddleware,
in its thread pool, and stream their bodies as many ASGI messages.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from a2wsgi import WSGIMiddleware
from flask import Flask, Response, request
from starlette.types import ASGIApp

from consent import ConsentMiddleware
from consent.errors import MiddlewareNotInstalled
from consent.wsgi import consent_from_environ
from examples import fastapi_app, flask_app, litestar_app, shop, starlette_app
from examples.django_app import asgi as django_asgi
from examples.django_app import wsgi as django_wsgi
from tests.conftest import KEY

pytestmark = pytest.mark.anyio

FACTORIES: dict[str, Callable[[list[str]], ASGIApp]] = {
    "starlette": starlette_app.create_app,
    "fastapi": fastapi_app.create_app,
    "litestar": litestar_app.create_app,
    "django": django_asgi.create_app,
    "flask": flask_app.create_app,  # WSGI, through a2wsgi
    "django-wsgi": django_wsgi.create_app,  # Django's WSGI handler, through a2wsgi
}
SHOP = ["_fbp", "_ga", "_hjSessionUser_1", "lang", "sid"]
EVERY_CATEGORY = "necessary, functional, analytics, performance, advertisement"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module", params=sorted(FACTORIES))
def app(request: pytest.FixtureRequest) -> ASGIApp:
    return FACTORIES[request.param]([KEY])


@pytest.fixture
async def client(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    headers = response.headers.get_list("set-cookie")
    return {header.split("=", 1)[0]: header for header in headers}


def written(response: httpx.Response) -> list[str]:
    """Names of cookies the response sets (not expires)."""
    return sorted(n for n, h in set_cookies(response).items() if "Max-Age=0" not in h)


def expired(response: httpx.Response) -> list[str]:
    return sorted(n for n, h in set_cookies(response).items() if "Max-Age=0" in h)


def seen_by_handler(response: httpx.Response) -> tuple[str, str, str]:
    """(decided or undecided, granted categories, request cookie names) from the page."""
    match = re.search(
        r"Consent: <strong>(\w+)</strong>; granted: <span id=\"granted\">([^<]*)</span>.*"
        r"<p id=\"seen\">Cookies the app received: ([^<]*)</p>",
        response.text,
        re.DOTALL,
    )
    assert match is not None, response.text
    return match.group(1), match.group(2), match.group(3)


async def test_before_a_choice_only_necessary_cookies(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert written(response) == ["sid"]
    assert "cookie" in response.headers["vary"].lower()
    assert seen_by_handler(response) == ("undecided", "necessary", "none")


async def test_accept_all_lets_every_shop_cookie_through(client: httpx.AsyncClient) -> None:
    accepted = await client.post("/consent", json={"action": "accept_all"})
    assert accepted.status_code == 200
    assert written(accepted) == ["consent"]
    response = await client.get("/")
    assert written(response) == SHOP
    assert seen_by_handler(response) == ("decided", EVERY_CATEGORY, "consent")


async def test_reject_all_expires_withdrawn_cookies(client: httpx.AsyncClient) -> None:
    await client.post("/consent", json={"action": "accept_all"})
    assert written(await client.get("/")) == SHOP
    rejected = await client.post("/consent", json={"action": "reject_all"})
    assert rejected.status_code == 200
    assert written(rejected) == ["consent"]
    assert expired(rejected) == ["_fbp", "_ga", "_hjSessionUser_1", "lang"]
    response = await client.get("/")
    assert written(response) == ["sid"]
    assert expired(response) == []
    assert seen_by_handler(response) == ("decided", "necessary", "consent, sid")


async def test_framework_parses_only_granted_request_cookies(client: httpx.AsyncClient) -> None:
    granted = await client.post("/consent", json={"granted": ["analytics"]})
    token = granted.cookies["consent"]
    client.cookies.clear()  # send exactly the header below
    cookie = f"consent={token}; sid=1; lang=en; _ga=GA1.1; _hjSession_9=h; _fbp=fb; stray=x"
    response = await client.get("/", headers={"cookie": cookie})
    assert seen_by_handler(response) == ("decided", "necessary, analytics", "_ga, consent, sid")
    assert written(response) == ["_ga", "sid"]
    assert expired(response) == ["_fbp", "_hjSession_9", "lang"]


async def test_repeated_cookie_headers_reach_the_framework_as_one(
    client: httpx.AsyncClient,
) -> None:
    # HTTP/2 clients may split cookies over several headers, which frameworks read differently.
    headers = [("cookie", "lang=en; sid=1"), ("cookie", "_ga=GA1.1; csrftoken=t")]
    response = await client.get("/", headers=headers)
    assert seen_by_handler(response)[2] == "csrftoken, sid"
    assert expired(response) == ["_ga", "lang"]


async def test_unrouted_paths_are_filtered_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/no-such-page", headers={"cookie": "_fbp=fb; sid=1"})
    assert response.status_code == 404
    assert expired(response) == ["_fbp"]


async def test_form_post_without_javascript_redirects_back(client: httpx.AsyncClient) -> None:
    response = await client.post("/consent", data={"action": "accept_all", "next": "/"})
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert written(response) == ["consent"]
    assert seen_by_handler(await client.get("/"))[0] == "decided"


@pytest.mark.parametrize("framework", ["fastapi", "litestar", "django", "flask", "django-wsgi"])
async def test_framework_dependency_reads_state(framework: str) -> None:
    transport = httpx.ASGITransport(app=FACTORIES[framework]([KEY]))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        before = (await client.get("/api/consent-summary")).json()
        assert before == {"decided": False, "analytics": False, "advertisement": False}
        await client.post("/consent", json={"granted": ["analytics"]})
        after = (await client.get("/api/consent-summary")).json()
        assert after == {"decided": True, "analytics": True, "advertisement": False}


async def test_banner_is_injected_into_every_frameworks_page(client: httpx.AsyncClient) -> None:
    # Django sends mixed-case header names and may stream without Content-Length.
    response = await client.get("/")
    text = response.text
    assert text.index('id="consent-banner"') < text.rindex("</body>")
    if "content-length" in response.headers:
        assert int(response.headers["content-length"]) == len(response.content)
    assert "accept-language" in response.headers["vary"].lower()
    await client.post("/consent", json={"action": "reject_all"})
    decided = (await client.get("/")).text
    assert 'id="consent-banner"' not in decided
    assert 'id="consent-settings"' in decided


def streamed_flask_shop(*, content_length: bool) -> ASGIApp:
    """The shop's page from Flask in chunks of at most 100 bytes, ``<head>`` and
    ``</body>`` each cut in two, with or without the app's own ``Content-Length``."""
    shop_app = Flask(__name__)

    @shop_app.get("/")
    def page() -> Response:
        state = consent_from_environ(request.environ)
        body = shop.render_page(state, dict(request.cookies), framework="Flask").encode()
        middles = (body.index(b"<head>") + 3, body.rindex(b"</body>") + 3)
        cuts = sorted({*range(0, len(body), 100), *middles})
        chunks = [body[a:b] for a, b in zip(cuts, [*cuts[1:], len(body)], strict=True)]
        assert all(b"<head>" not in c and b"</body>" not in c for c in chunks)
        headers = {"content-length": str(len(body))} if content_length else {}
        return Response(iter(chunks), mimetype="text/html", headers=headers)

    wsgi = WSGIMiddleware(shop_app)  # type: ignore[arg-type]
    return ConsentMiddleware(wsgi, policy=shop.POLICY, secret_keys=[KEY])


@pytest.mark.parametrize("content_length", [True, False], ids=["content-length", "chunked"])
async def test_banner_goes_into_a_streamed_wsgi_page(content_length: bool) -> None:
    app = streamed_flask_shop(content_length=content_length)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/")
    text = response.text
    assert text.index('id="consent-banner"') < text.rindex("</body>")
    assert text.index("<head>") < text.index("gtag('consent','default'") < text.index("</head>")
    assert text.endswith("</body></html>")
    assert seen_by_handler(response) == ("undecided", "necessary", "none")
    if content_length:
        assert int(response.headers["content-length"]) == len(response.content)
    else:
        assert "content-length" not in response.headers


def test_wsgi_app_without_the_middleware_is_refused_clearly() -> None:
    # Under a WSGI server (here Flask's test client) the ASGI middleware never runs.
    bare = flask_app.create_flask_app()
    bare.testing = True  # raise instead of answering 500
    with pytest.raises(MiddlewareNotInstalled, match=r"a2wsgi\.WSGIMiddleware"):
        bare.test_client().get("/")
    with pytest.raises(MiddlewareNotInstalled, match="ConsentMiddleware"):
        consent_from_environ({"asgi.scope": {"type": "http"}})  # an adapter, no middleware
