from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import httpx2
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consent import ConsentMiddleware, Policy, get_consent, load_policy, policy_from_string

KEY = "test-key-0123456789abcdef"
OTHER_KEY = "other-key-0123456789abcdef"
EXAMPLE_POLICY = "examples/consent.yaml"
EPOCH = "Expires=Thu, 01 Jan 1970 00:00:00 GMT"


def missing(message: str) -> NoReturn:
    """A tool a test needs is not there (Chromium, wrk, PostgreSQL): the test is skipped
    with ``message``, except in CI (``CI=true``), where it fails, so that a broken set-up
    cannot pass unnoticed."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


# A small policy for tests that need their own settings: prepend settings, or
# replace the categories.
SMALL_CATEGORIES = """\
  necessary:
    title: Necessary
    required: true
    cookies:
      - name: sid
  analytics:
    title: Analytics
    cookies:
      - name: _ga
  advertisement:
    title: Advertisement
    cookies:
      - name: _fbp
"""


def small_policy(settings: str = "", categories: str = SMALL_CATEGORIES) -> Policy:
    return policy_from_string(f"{settings}categories:\n{categories}")


# Policies without ``records.url`` record to CONSENT_RECORDS_URL, else to consent-records.db
# in the working directory: point them at a temporary file before any test module (some
# build their middleware at import) is collected, so tests never litter the repository.
_RECORDS_DIR = Path(tempfile.mkdtemp(prefix="consent-records-"))
os.environ["CONSENT_RECORDS_URL"] = f"sqlite:///{_RECORDS_DIR / 'consent-records.db'}"


@pytest.fixture(scope="session", autouse=True)
def _remove_records_dir() -> Iterator[None]:
    yield
    shutil.rmtree(_RECORDS_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(EXAMPLE_POLICY)


def cookie_app(cookies: Sequence[tuple[str, str]]) -> ASGIApp:
    """An app that sets the given cookies and echoes what it received and the state."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        state = get_consent(request)
        body = f"{sorted(state.granted)}|{request.headers.get('cookie', '')}"
        response: Response = PlainTextResponse(body)
        for name, value in cookies:
            response.set_cookie(name, value)
        await response(scope, receive, send)

    return app


def header_app(headers: Sequence[tuple[bytes, bytes]]) -> ASGIApp:
    """An app that answers with exactly these raw headers (any case, any value)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(policy: Policy) -> MakeClient:
    def make(
        cookies: Sequence[tuple[str, str]] = (),
        *,
        policy_: Policy | None = None,
        keys: Sequence[str] | None = None,
        base_url: str = "http://testserver",
        app: ASGIApp | None = None,
    ) -> TestClient:
        middleware = ConsentMiddleware(
            app or cookie_app(cookies),
            policy=policy_ or policy,
            secret_keys=list(keys or [KEY]),
        )
        return TestClient(middleware, base_url=base_url)

    return make


# -- reading responses ------------------------------------------------------


def set_cookie_names(response: httpx2.Response) -> list[str]:
    """Names of the response's ``Set-Cookie`` headers, in order."""
    return [value.split(";")[0].split("=")[0].strip() for value in set_cookies(response)]


def set_cookies(response: httpx2.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def set_cookie_for(response: httpx2.Response, name: str) -> str:
    """The one ``Set-Cookie`` of ``name``; fails when there is none or several."""
    found = [value for value in set_cookies(response) if value.split("=")[0].strip() == name]
    assert len(found) == 1, (name, set_cookies(response))
    return found[0]


def attributes(set_cookie: str) -> dict[str, str]:
    """``Set-Cookie`` attributes by lower-case name (flags map to ``""``)."""
    result: dict[str, str] = {}
    for part in set_cookie.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        result[key.lower()] = value
    return result


def seen_cookies(response: httpx2.Response) -> str:
    """The ``Cookie`` header the app behind ``cookie_app`` received."""
    return response.text.partition("|")[2]


def choose(
    client: TestClient, payload: dict[str, Any] | None = None, *, name: str = "consent"
) -> str:
    """POST a choice (default: accept all) and return the consent cookie's value."""
    response = client.post(
        "/consent", json=payload if payload is not None else {"action": "accept_all"}
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()  # tests pass cookies explicitly
    return set_cookie_for(response, name).split(";")[0].partition("=")[2]


def with_consent(token: str, *more: str, name: str = "consent") -> dict[str, str]:
    """A ``Cookie`` header carrying the consent token and ``more`` pairs."""
    return {"cookie": "; ".join([f"{name}={token}", *more])}


# -- driving the ASGI app directly -------------------------------------------


def http_scope(
    path: str = "/",
    *,
    method: str = "GET",
    headers: Iterable[tuple[bytes, bytes]] = (),
    scheme: str = "http",
    scope_type: str = "http",
) -> Scope:
    return {
        "type": scope_type,
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }


def call(app: ASGIApp, scope: Scope, inbound: Sequence[Message] = ()) -> list[Message]:
    """Run ``app`` on ``scope`` with ``inbound`` messages; return what it sent."""
    return asyncio.run(acall(app, scope, inbound))


async def acall(app: ASGIApp, scope: Scope, inbound: Sequence[Message] = ()) -> list[Message]:
    pending = list(inbound) or [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def response_headers(messages: Sequence[Message]) -> list[tuple[bytes, bytes]]:
    starts = [m for m in messages if m["type"] in ("http.response.start", "websocket.accept")]
    assert len(starts) == 1, messages
    return list(starts[0].get("headers", []))


def call_sync(app: ASGIApp, scope: Scope, inbound: Sequence[Message] = ()) -> list[Message]:
    """Like :func:`call`, without an event loop: for apps that await only receive/send."""
    coroutine = acall(app, scope, inbound)
    try:
        coroutine.send(None)
    except StopIteration as stop:
        messages: list[Message] = stop.value
        return messages
    coroutine.close()
    raise AssertionError("the app awaited something other than receive and send")
