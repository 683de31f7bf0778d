"""Template helpers for apps that render their own pages."""

from __future__ import annotations

import pytest
from jinja2 import Environment
from starlette.requests import Request

from consent.banner import (
    consent_banner,
    consent_head,
    consent_settings_link,
    install_jinja2,
)
from consent.errors import MiddlewareNotInstalled

from .banner_support import client, policy_with, request_app

TEMPLATE = (
    "<html><head>{{ consent_head(request) }}</head><body>"
    "<footer>{{ consent_settings_link(request, css_class='footer-link') }}</footer>"
    "{{ consent_banner(request) }}</body></html>"
)


def test_jinja2_globals_render_once_and_skip_injection() -> None:
    env = install_jinja2(Environment(autoescape=True))
    template = env.from_string(TEMPLATE)
    policy = policy_with("banner:\n  consent_mode:\n    enabled: true\n")
    text = client(request_app(lambda r: template.render(request=r)), policy).get("/a?b=c").text
    assert text.count('id="consent-root"') == 1
    assert text.count("gtag('consent','default'") == 1
    assert text.startswith("<html><head><script>")
    assert (
        '<a href="/consent/preferences?next=%2Fa%3Fb%3Dc" data-consent-settings '
        'class="footer-link">Cookie settings</a>'
    ) in text


def test_plain_function_with_nonce() -> None:
    def page(request: Request) -> str:
        return f"<body>{consent_banner(request, nonce='n0nce')}</body>"

    text = client(request_app(page)).get("/").text
    assert text.count('id="consent-root"') == 1
    assert 'nonce="n0nce"' in text


def test_helpers_need_the_middleware() -> None:
    scope = {"type": "http", "path": "/", "headers": [], "query_string": b""}
    with pytest.raises(MiddlewareNotInstalled, match="ConsentMiddleware"):
        consent_head(Request(scope))
    with pytest.raises(TypeError):
        consent_settings_link(object())
