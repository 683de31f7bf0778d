"""The Django shop as an ASGI application wrapped in ConsentMiddleware.

Serve it with ``uvicorn examples.django_app.asgi:app``. The middleware goes around
the whole Django ASGI handler (Django's own ``MIDDLEWARE`` setting is for Django
middleware, which sees neither the raw scope nor the outgoing ASGI messages).
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application
from starlette.types import ASGIApp

from consent import ConsentMiddleware

from ..shop import POLICY, secret_keys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")


def create_app(keys: list[str] | None = None) -> ASGIApp:
    return ConsentMiddleware(
        get_asgi_application(), policy=POLICY, secret_keys=keys or secret_keys()
    )


app = create_app()
