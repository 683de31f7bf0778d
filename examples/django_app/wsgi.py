"""The Django shop under WSGI, served through ASGI: a2wsgi adapts, ConsentMiddleware wraps.

Serve it with ``uvicorn examples.django_app.wsgi:app``. Django runs its WSGI handler
(``get_wsgi_application()``) in a2wsgi's thread pool; the views read the consent state
from the environ (``consent.wsgi.consent_from_environ``). A WSGI server (gunicorn's sync
workers, ``manage.py runserver``) would serve Django without the middleware.
"""

from __future__ import annotations

import os

from a2wsgi import WSGIMiddleware
from django.core.wsgi import get_wsgi_application

from consent import ConsentMiddleware

from ..shop import POLICY, secret_keys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")


def create_app(keys: list[str] | None = None) -> ConsentMiddleware:
    return ConsentMiddleware(
        WSGIMiddleware(get_wsgi_application()), policy=POLICY, secret_keys=keys or secret_keys()
    )


app = create_app()
