"""Settings of the Django example: no database, no installed apps, no templates.

The shop only needs URL routing and responses; everything else Django offers is
left out so that the example shows the consent middleware and nothing more.
"""

from __future__ import annotations

import os
import secrets

# Django signs its own cookies (sessions, CSRF) with this; the shop sets none of them.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "examples.django_app.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
