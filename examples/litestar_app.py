"""The same shop with Litestar, reading consent through Litestar's dependency injection.

ConsentMiddleware wraps the Litestar application object instead of being listed in
``Litestar(middleware=[...])``: Litestar runs that list per route, after routing,
so the consent endpoints (``/consent``, not a Litestar route) would answer 404 and
responses to unmatched paths would not be filtered. Serve it with
``uvicorn examples.litestar_app:app``.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, MediaType, Request, get
from litestar.di import NamedDependency, Provide
from litestar.response import Response

from consent import ConsentMiddleware, ConsentState, consent_from_scope

from .shop import POLICY, SHOP_COOKIES, render_page, secret_keys


def provide_consent(request: Request[Any, Any, Any]) -> ConsentState:
    """Litestar dependency: the state the middleware stored in the scope."""
    return consent_from_scope(request.scope)


@get("/", media_type=MediaType.HTML)
async def home(
    request: Request[Any, Any, Any], consent: NamedDependency[ConsentState]
) -> Response[str]:
    response = Response(render_page(consent, request.cookies, framework="Litestar"))
    # Set every cookie unconditionally: the middleware removes what was not consented to.
    for name, value, _category in SHOP_COOKIES:
        response.set_cookie(name, value, httponly=True, samesite="lax")
    return response


@get("/api/consent-summary")
async def summary(consent: NamedDependency[ConsentState]) -> dict[str, bool]:
    return {
        "decided": consent.decided,
        "analytics": consent.allows("analytics"),
        "advertisement": consent.allows("advertisement"),
    }


def create_app(keys: list[str] | None = None) -> ConsentMiddleware:
    shop = Litestar(
        route_handlers=[home, summary],
        dependencies={"consent": Provide(provide_consent, sync_to_thread=False)},
        # Litestar's default logging config takes over the root logger (level INFO, a
        # queue thread) when the app is built; leave logging to whoever runs the shop.
        logging_config=None,
    )
    return ConsentMiddleware(shop, policy=POLICY, secret_keys=keys or secret_keys())


app = create_app()
