"""Reading the consent state in an app: ``get_consent``, ``request.state`` and FastAPI."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from consent import ConsentMiddleware, ConsentState, Policy, get_consent
from consent.errors import ConsentError, MiddlewareNotInstalled
from consent.fastapi import Consent
from tests.conftest import KEY, choose, with_consent


def _fastapi_app(policy: Policy | None) -> FastAPI:
    app = FastAPI()
    if policy is not None:
        app.add_middleware(ConsentMiddleware, policy=policy, secret_keys=[KEY])

    @app.get("/annotated")
    def annotated(consent: Consent) -> dict[str, object]:
        return {"decided": consent.decided, "analytics": consent.allows("analytics")}

    @app.get("/depends")
    def depends(
        consent: Annotated[ConsentState, Depends(get_consent)],
    ) -> dict[str, object]:
        return {"decided": consent.decided, "granted": sorted(consent.granted)}

    return app


def test_fastapi_dependency_before_and_after_a_choice(policy: Policy) -> None:
    client = TestClient(_fastapi_app(policy))
    assert client.get("/annotated").json() == {"decided": False, "analytics": False}
    token = choose(client, {"granted": ["analytics"]})
    headers = with_consent(token)
    assert client.get("/annotated", headers=headers).json() == {
        "decided": True,
        "analytics": True,
    }
    assert client.get("/depends", headers=headers).json() == {
        "decided": True,
        "granted": ["analytics", "necessary"],
    }


@pytest.mark.parametrize("path", ["/annotated", "/depends"])
def test_fastapi_dependency_without_the_middleware(path: str) -> None:
    client = TestClient(_fastapi_app(None))
    with pytest.raises(MiddlewareNotInstalled, match="ConsentMiddleware"):
        client.get(path)


def test_get_consent_and_request_state_agree(policy: Policy) -> None:
    async def home(request: Request) -> JSONResponse:
        state = get_consent(request)
        assert state is request.state.consent
        return JSONResponse({"granted": sorted(state.granted)})

    app = Starlette(routes=[Route("/", home)])
    client = TestClient(ConsentMiddleware(app, policy=policy, secret_keys=KEY))
    assert client.get("/").json() == {"granted": ["necessary"]}


@pytest.mark.parametrize("state", [None, {}, {"consent": "granted"}])
def test_get_consent_without_the_middleware(state: dict[str, object] | None) -> None:
    scope: dict[str, object] = {"type": "http", "headers": []}
    if state is not None:
        scope["state"] = state
    with pytest.raises(MiddlewareNotInstalled) as raised:
        get_consent(Request(scope))
    assert isinstance(raised.value, ConsentError)
    assert isinstance(raised.value, LookupError)
