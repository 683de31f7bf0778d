"""Views of the Django shop: the consent state comes from the ASGI scope.

Under ASGI (``asgi.py``) Django passes an ``ASGIRequest``, which keeps the scope the
middleware wrote to as ``request.scope``. Under WSGI behind a2wsgi (``wsgi.py``) it
passes a ``WSGIRequest``, whose environ (``request.META``) holds that scope.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from consent import ConsentState, consent_from_scope
from consent.wsgi import consent_from_environ

from ..shop import SHOP_COOKIES, render_page


def consent_of(request: HttpRequest) -> ConsentState:
    """The consent state, whether Django runs under ASGI or under WSGI through a2wsgi."""
    scope = getattr(request, "scope", None)  # ASGIRequest only
    return consent_from_scope(scope) if scope is not None else consent_from_environ(request.META)


def home(request: HttpRequest) -> HttpResponse:
    consent = consent_of(request)
    # request.COOKIES is Django's own parse of the Cookie header the middleware filtered.
    response = HttpResponse(render_page(consent, request.COOKIES, framework="Django"))
    # Set every cookie unconditionally: the middleware removes what was not consented to.
    for name, value, _category in SHOP_COOKIES:
        response.set_cookie(name, value, httponly=True, samesite="Lax")
    return response


def summary(request: HttpRequest) -> JsonResponse:
    consent = consent_of(request)
    return JsonResponse(
        {
            "decided": consent.decided,
            "analytics": consent.allows("analytics"),
            "advertisement": consent.allows("advertisement"),
        }
    )
