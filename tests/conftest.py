from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from consent import ConsentMiddleware, Policy, get_consent, load_policy

KEY = "test-key-0123456789abcdef"
EXAMPLE_POLICY = "examples/consent.yaml"


@pytest.fixture(scope="session", autouse=True)
def _records_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Policies without ``records.url`` record to the SQLite default: keep it out of the repo."""
    folder: Path = tmp_path_factory.mktemp("records")
    previous = os.environ.get("CONSENT_RECORDS_URL")
    os.environ["CONSENT_RECORDS_URL"] = f"sqlite:///{folder / 'consent-records.db'}"
    yield
    if previous is None:
        del os.environ["CONSENT_RECORDS_URL"]
    else:
        os.environ["CONSENT_RECORDS_URL"] = previous


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(EXAMPLE_POLICY)


def cookie_app(cookies: list[tuple[str, str]]) -> ASGIApp:
    """An app that sets the given cookies and echoes what it received and the state."""

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        request = Request(scope, receive)
        state = get_consent(request)
        body = f"{sorted(state.granted)}|{request.headers.get('cookie', '')}"
        response: Response = PlainTextResponse(body)
        for name, value in cookies:
            response.set_cookie(name, value)
        await response(scope, receive, send)

    return app


MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(policy: Policy) -> MakeClient:
    def make(
        cookies: list[tuple[str, str]] | None = None,
        *,
        policy_: Policy | None = None,
        keys: list[str] | None = None,
        base_url: str = "http://testserver",
    ) -> TestClient:
        app = ConsentMiddleware(
            cookie_app(cookies or []), policy=policy_ or policy, secret_keys=keys or [KEY]
        )
        return TestClient(app, base_url=base_url)

    return make
