"""The example shops, driven like a visitor with JS off: the forms on the page."""

from __future__ import annotations

from collections.abc import Callable

import httpx2
import pytest
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from examples import fastapi_app, flask_app, shop, starlette_app
from tests.conftest import KEY, set_cookie_names

APPS: dict[str, Callable[[list[str]], ASGIApp]] = {
    "starlette": starlette_app.create_app,
    "fastapi": fastapi_app.create_app,
    "flask": flask_app.create_app,  # WSGI, through a2wsgi and Starlette's TestClient
}
EVERY_COOKIE = {"sid", "lang", "_ga", "_hjSessionUser_1", "_fbp"}


@pytest.fixture(params=sorted(APPS))
def client(request: pytest.FixtureRequest) -> TestClient:
    return TestClient(APPS[request.param]([KEY]))


def _jar(client: TestClient) -> set[str]:
    return {cookie.name for cookie in client.cookies.jar}


def _choose(client: TestClient, form: dict[str, str | list[str]]) -> httpx2.Response:
    """Submit a consent form as the browser would, then follow the 303 home."""
    response = client.post("/consent", data={**form, "next": "/"})
    assert [r.status_code for r in response.history] == [303]
    assert set_cookie_names(response.history[0])[0] == "consent"
    assert response.url.path == "/"
    return response


def test_first_visit_sets_only_the_session_cookie(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert set(set_cookie_names(page)) == {"sid"}
    assert "<strong>undecided</strong>" in page.text
    for action in ("accept_all", "reject_all"):
        assert f'name="action" value="{action}"' in page.text
    # The preference centre (with "save") is fetched when opened, not sent with every page.
    centre = client.get("/consent/preferences?fragment=1&next=/").text
    assert 'name="action" value="save"' in centre
    assert _jar(client) == {"sid"}


def test_reject_all(client: TestClient) -> None:
    client.get("/")
    page = _choose(client, {"action": "reject_all"})
    assert set(set_cookie_names(page)) == {"sid"}
    assert '<span id="granted">necessary</span>' in page.text
    assert _jar(client) == {"consent", "sid"}


def test_accept_all(client: TestClient) -> None:
    client.get("/")
    page = _choose(client, {"action": "accept_all"})
    assert set(set_cookie_names(page)) == EVERY_COOKIE
    assert _jar(client) == {"consent", *EVERY_COOKIE}
    again = client.get("/")
    assert "Cookies the app received: _fbp, _ga, _hjSessionUser_1, consent, lang, sid" in again.text


def test_choose_analytics_only(client: TestClient) -> None:
    client.get("/")
    page = _choose(client, {"action": "save", "granted": ["analytics"]})
    assert set(set_cookie_names(page)) == {"sid", "_ga"}
    assert '<span id="granted">necessary, analytics</span>' in page.text
    assert _jar(client) == {"consent", "sid", "_ga"}


def test_reject_after_accept_deletes_the_optional_cookies(client: TestClient) -> None:
    _choose(client, {"action": "accept_all"})
    client.get("/")
    page = _choose(client, {"action": "reject_all"})
    expired = set_cookie_names(page.history[0])
    assert set(expired) == {"consent", *EVERY_COOKIE} - {"sid"}
    assert _jar(client) == {"consent", "sid"}
    assert "Cookies the app received: consent, sid" in client.get("/").text


def test_fastapi_summary_follows_the_choice() -> None:
    client = TestClient(fastapi_app.create_app([KEY]))
    assert client.get("/api/consent-summary").json() == {
        "decided": False,
        "analytics": False,
        "advertisement": False,
    }
    _choose(client, {"action": "save", "granted": ["analytics"]})
    assert client.get("/api/consent-summary").json() == {
        "decided": True,
        "analytics": True,
        "advertisement": False,
    }


def test_example_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENT_SECRET_KEYS", f"{KEY}, other-key-0123456789")
    assert shop.secret_keys() == [KEY, "other-key-0123456789"]


def test_example_without_keys_warns_and_uses_a_development_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CONSENT_SECRET_KEYS", raising=False)
    first, second = shop.secret_keys(), shop.secret_keys()
    assert len(first) == 1
    assert len(first[0]) >= 32
    assert first != second
    assert "WARNING" in capsys.readouterr().err


def test_starlette_catalogue_sitemap_and_robots() -> None:
    """The pages `consent scan` crawls in bench/scan.py: linked, listed and answering."""
    client = TestClient(starlette_app.create_app([KEY]))
    assert 'href="/products"' in client.get("/").text
    listing = client.get("/products")
    assert listing.status_code == 200
    assert len(starlette_app.PRODUCTS) == 40
    assert '<a href="/products/blue-teapot">Blue teapot</a>' in listing.text
    page = client.get("/products/blue-teapot")
    assert (page.status_code, "<h1>Blue teapot</h1>" in page.text) == (200, True)
    assert 'id="consent-banner"' in page.text  # behind the middleware like every page
    assert client.get("/products/no-such-pot").status_code == 404
    sitemap = client.get("/sitemap.xml")
    assert sitemap.headers["content-type"] == "application/xml"
    assert sitemap.text.count("<loc>") == 3 + 40
    assert "<loc>http://testserver/products/speckled-saucer</loc>" in sitemap.text
    robots = client.get("/robots.txt").text
    assert "Sitemap: http://testserver/sitemap.xml" in robots.splitlines()
