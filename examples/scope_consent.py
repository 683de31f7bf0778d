"""Read the consent state from a raw ASGI scope, for frameworks that are not Starlette.

``consent.get_consent`` is typed for Starlette's ``Request`` (FastAPI needs that
annotation to inject it), so Litestar and Django code would need a cast to call it.
Every framework exposes the ASGI scope the middleware wrote to: Litestar as
``request.scope``, Django's ``ASGIRequest`` as ``request.scope`` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consent import ConsentState
from consent.errors import MiddlewareNotInstalled


def consent_from_scope(scope: Mapping[str, Any]) -> ConsentState:
    """The state ``ConsentMiddleware`` stored in ``scope["state"]["consent"]``."""
    state = scope.get("state", {}).get("consent")
    if not isinstance(state, ConsentState):
        raise MiddlewareNotInstalled(
            "no consent state on this request: wrap the whole ASGI application in "
            "ConsentMiddleware (for Django, serve it through ASGI, not WSGI)"
        )
    return state
