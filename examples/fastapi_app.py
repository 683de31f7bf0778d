"""The same shop with FastAPI, reading consent through a dependency."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from consent import ConsentMiddleware
from consent.fastapi import Consent

from .shop import POLICY, SHOP_COOKIES, render_page, secret_keys


def create_app(keys: list[str] | None = None) -> FastAPI:
    app = FastAPI(title="Example shop")
    app.add_middleware(ConsentMiddleware, policy=POLICY, secret_keys=keys or secret_keys())

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request, consent: Consent) -> HTMLResponse:
        response = HTMLResponse(render_page(consent, dict(request.cookies), framework="FastAPI"))
        for name, value, _category in SHOP_COOKIES:
            response.set_cookie(name, value, httponly=True, samesite="lax")
        return response

    @app.get("/api/consent-summary")
    def summary(consent: Consent) -> dict[str, object]:
        """What the app may do for this visitor, straight from the dependency."""
        return {
            "decided": consent.decided,
            "analytics": consent.allows("analytics"),
            "advertisement": consent.allows("advertisement"),
        }

    return app


app = create_app()
