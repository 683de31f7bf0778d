"""The same shop in Flask, a WSGI framework, served through ASGI behind ConsentMiddleware.

a2wsgi's ``WSGIMiddleware`` turns the Flask app into an ASGI app, and ConsentMiddleware
wraps that. Serve it with an ASGI server: ``uvicorn examples.flask_app:app`` (``flask
run`` or a WSGI server would serve the bare Flask app, without the middleware).
"""

from __future__ import annotations

from a2wsgi import WSGIMiddleware
from flask import Flask, Response, jsonify, request

from consent import ConsentMiddleware
from consent.wsgi import consent_from_environ

from .shop import POLICY, SHOP_COOKIES, render_page, secret_keys


def create_flask_app() -> Flask:
    """The shop as a plain Flask (WSGI) app; it knows nothing of the middleware."""
    shop = Flask(__name__)

    @shop.get("/")
    def home() -> Response:
        # a2wsgi keeps the ASGI scope, where the middleware stored the state, in the environ.
        consent = consent_from_environ(request.environ)
        # request.cookies is Werkzeug's parse of the Cookie header the middleware filtered.
        page = render_page(consent, dict(request.cookies), framework="Flask")
        response = Response(page, mimetype="text/html")
        # Set every cookie unconditionally: the middleware removes what was not consented to.
        for name, value, _category in SHOP_COOKIES:
            response.set_cookie(name, value, httponly=True, samesite="Lax")
        return response

    @shop.get("/api/consent-summary")
    def summary() -> Response:
        consent = consent_from_environ(request.environ)
        return jsonify(
            decided=consent.decided,
            analytics=consent.allows("analytics"),
            advertisement=consent.allows("advertisement"),
        )

    return shop


def create_app(keys: list[str] | None = None) -> ConsentMiddleware:
    return ConsentMiddleware(
        # a2wsgi types the environ as a TypedDict, Flask as dict[str, Any]: same thing at run time.
        WSGIMiddleware(create_flask_app()),  # type: ignore[arg-type]
        policy=POLICY,
        secret_keys=keys or secret_keys(),
    )


app = create_app()
