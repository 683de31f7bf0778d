"""Template helpers for apps that render their own pages: the banner, the Consent Mode
default and a settings link, where the app wants them.

The middleware then does not inject them again.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from markupsafe import Markup
from starlette.types import Scope

from ..dependencies import consent_from_scope
from ..errors import MiddlewareNotInstalled
from ..policy.state import ConsentState
from ..signals.csp import NONCE_KEY
from .injection import BANNER_KEY
from .render import HEAD_RENDERED_KEY, RENDERED_KEY, Banner


def _scope_of(request: Any) -> Scope:
    scope = request if isinstance(request, dict) else getattr(request, "scope", None)
    if not isinstance(scope, dict):
        raise TypeError("pass the current request (or its ASGI scope)")
    return scope


def _banner_of(scope: Scope) -> tuple[Banner, ConsentState]:
    consent = consent_from_scope(scope)  # MiddlewareNotInstalled without the middleware
    banner = scope["state"].get(BANNER_KEY)
    if not isinstance(banner, Banner):
        raise MiddlewareNotInstalled("the consent banner helpers need ConsentMiddleware")
    return banner, consent


def consent_banner(request: Any, *, nonce: str | None = None) -> Markup:
    """The banner (or settings control) for this request, as safe HTML for a template.

    Put it just before ``</body>``; the middleware will not inject a second one.
    ``nonce`` defaults to ``request.state.csp_nonce`` when the app sets it.
    """
    scope = _scope_of(request)
    banner, state = _banner_of(scope)
    scope["state"][RENDERED_KEY] = True
    html = banner.render(scope, state, nonce=nonce or scope["state"].get(NONCE_KEY))
    return Markup(html)  # noqa: S704 - rendered by an autoescaping template


def consent_head(request: Any, *, nonce: str | None = None) -> Markup:
    """The Consent Mode ``default`` script (empty when off); put it first in ``<head>``."""
    scope = _scope_of(request)
    banner, state = _banner_of(scope)
    scope["state"][HEAD_RENDERED_KEY] = True
    script = banner.head(state, nonce=nonce or scope["state"].get(NONCE_KEY))
    return Markup(script)  # noqa: S704 - JSON from our own mapping, nonce escaped


def consent_settings_link(
    request: Any, *, label: str | None = None, css_class: str | None = None
) -> Markup:
    """A "Cookie settings" link for a footer: opens the centre (a page of its own without JS)."""
    scope = _scope_of(request)
    banner, _ = _banner_of(scope)
    link = banner.settings_link(scope, label=label, css_class=css_class)
    return Markup(link)  # noqa: S704 - rendered by an autoescaping template


def install_jinja2(env: Environment) -> Environment:
    """Register ``consent_banner``, ``consent_head`` and ``consent_settings_link`` as globals."""
    env.globals.update(
        consent_banner=consent_banner,
        consent_head=consent_head,
        consent_settings_link=consent_settings_link,
    )
    return env
