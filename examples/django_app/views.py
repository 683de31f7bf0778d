"""Views of the Django shop: the consent state comes from the ASGI scope.

Under ASGI Django passes an ``ASGIRequest``, which keeps the scope the middleware
wrote to as ``request.scope``; under WSGI there is no scope and no middleware.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from consent import consent_from_scope

from ..shop import SHOP_COOKIES, render_page


def home(request: HttpRequest) -> HttpResponse:
    consent = consent_from_scope(request.scope)
    # request.COOKIES is Django's own parse of the Cookie header the middleware filtered.
    response = HttpResponse(render_page(consent, request.COOKIES, framework="Django"))
    # Set every cookie unconditionally: the middleware removes what was not consented to.
    for name, value, _category in SHOP_COOKIES:
        response.set_cookie(name, value, httponly=True, samesite="Lax")
    return response


def summary(request: HttpRequest) -> JsonResponse:
    consent = consent_from_scope(request.scope)
    return JsonResponse(
        {
            "decided": consent.decided,
            "analytics": consent.allows("analytics"),
            "advertisement": consent.allows("advertisement"),
        }
    )
