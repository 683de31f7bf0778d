"""Small apps and policies shared by the banner tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from consent import ConsentMiddleware, Policy, policy_from_string

KEY = "test-key-0123456789abcdef"
PAGE = "<!doctype html><html><head><title>Shop</title></head><body><p>Hi</p></body></html>"

BASE_YAML = """
categories:
  necessary:
    title: Necessary
    description: Needed.
    required: true
    cookies:
      - name: sid
        provider: this site
  analytics:
    title: Analytics
    description: Counts visits.
    cookies:
      - name: _ga
        provider: Google
        duration: 2 years
        description: Distinguishes visitors.
  advertisement:
    title: Advertisement
    description: Ads.
"""


def policy_with(extra: str = "") -> Policy:
    return policy_from_string(BASE_YAML + extra)


def html_app(body: str = PAGE, headers: dict[str, str] | None = None) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await HTMLResponse(body, headers=headers)(scope, receive, send)

    return app


def streaming_app(chunks: Iterable[bytes], media_type: str = "text/html") -> ASGIApp:
    parts = list(chunks)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async def body() -> AsyncIterator[bytes]:
            for part in parts:
                yield part

        await StreamingResponse(body(), media_type=media_type)(scope, receive, send)

    return app


def request_app(render: object) -> ASGIApp:
    """An app whose page is ``render(request)``, for the template helpers."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response: Response = HTMLResponse(render(Request(scope, receive)))  # type: ignore[operator]
        await response(scope, receive, send)

    return app


def centre(c: TestClient, headers: dict[str, str] | None = None) -> str:
    """The preference centre as the banner script fetches it when the visitor opens it."""
    response = c.get("/consent/preferences?fragment=1&next=/", headers=headers)
    assert response.status_code == 200
    return response.text


def client(app: ASGIApp, policy: Policy | None = None) -> TestClient:
    return TestClient(ConsentMiddleware(app, policy=policy or policy_with(), secret_keys=[KEY]))
