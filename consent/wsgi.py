"""Read the visitor's consent in a WSGI app (Flask, Django under WSGI, ...).

``ConsentMiddleware`` is ASGI middleware: a WSGI app runs behind it through a
WSGI-to-ASGI adapter served by an ASGI server::

    app = ConsentMiddleware(a2wsgi.WSGIMiddleware(wsgi_app), policy=...)

The middleware stores the state in the ASGI scope, which a WSGI app does not see; the
adapter `a2wsgi <https://github.com/abersheeran/a2wsgi>`_ (≥ 1.10) puts that scope in
the environ as ``environ["asgi.scope"]``, and ``consent_from_environ`` reads it there.
The ``Cookie`` header of the environ (``HTTP_COOKIE``) is already the filtered one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .dependencies import consent_from_scope
from .errors import MiddlewareNotInstalled
from .policy.state import ConsentState

SCOPE_KEY = "asgi.scope"  # where a2wsgi's WSGIMiddleware keeps the ASGI scope


def consent_from_environ(environ: Mapping[str, Any]) -> ConsentState:
    """The consent state ``ConsentMiddleware`` decided for this WSGI request.

    ``environ`` is the request's WSGI environ: ``flask.request.environ``, Django's
    ``request.META``. Raises ``MiddlewareNotInstalled`` when the app is not served
    through ``ConsentMiddleware(a2wsgi.WSGIMiddleware(app))``.
    """
    scope = environ.get(SCOPE_KEY)
    if not isinstance(scope, Mapping):
        raise MiddlewareNotInstalled(
            f"no ASGI scope in the WSGI environ ({SCOPE_KEY!r}): serve the WSGI app with an "
            "ASGI server as ConsentMiddleware(a2wsgi.WSGIMiddleware(app), ...); under a WSGI "
            "server the middleware does not run"
        )
    return consent_from_scope(scope)
