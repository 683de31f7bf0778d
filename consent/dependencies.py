"""Read the visitor's consent from a request: a plain function and a FastAPI dependency.

``get_consent`` takes a Starlette ``Request`` (or ``WebSocket``), so FastAPI can use
it as a dependency as it is: ``state: ConsentState = Depends(get_consent)``.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from .errors import MiddlewareNotInstalled
from .state import ConsentState


def get_consent(request: HTTPConnection) -> ConsentState:
    """The consent state ``ConsentMiddleware`` decided for this request."""
    state = request.scope.get("state", {}).get("consent")
    if not isinstance(state, ConsentState):
        raise MiddlewareNotInstalled(
            "no consent state on this request: wrap the app in ConsentMiddleware "
            "(and make sure this route is not mounted outside it)"
        )
    return state
