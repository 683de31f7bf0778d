from __future__ import annotations

import os
import shutil
import tempfile
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
