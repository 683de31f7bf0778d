"""Read the visitor's consent from a request: a plain function and a FastAPI dependency.

``get_consent`` takes a Starlette ``Request`` (or ``WebSocket``), so FastAPI can use
it as a dependency as it is: ``state: ConsentState = Depends(get_consent)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import HTTPConnection

from .errors import MiddlewareNotInstalled
from .policy.state import ConsentState


def get_consent(request: HTTPConnection) -> ConsentState:
    """The consent state ``ConsentMiddleware`` decided for this request."""
    return consent_from_scope(request.scope)


def consent_from_scope(scope: Mapping[str, Any]) -> ConsentState:
    """The same, from a raw ASGI scope: for Litestar, Django (``request.scope``) or plain ASGI."""
    state = scope.get("state", {}).get("consent")
    if not isinstance(state, ConsentState):
        raise MiddlewareNotInstalled(
            "no consent state on this request: wrap the whole ASGI application in "
            "ConsentMiddleware (a WSGI app such as Flask, or Django under WSGI: "
            "ConsentMiddleware(a2wsgi.WSGIMiddleware(app)), read with "
            "consent.wsgi.consent_from_environ)"
        )
    return state
