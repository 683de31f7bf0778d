"""Rendering the banner, the preference centre and the settings control.

``Banner`` is built once per middleware from the policy; per request it picks a
language and renders with Jinja2 under ``autoescape`` (rule 11): every text from the
file is data passed to a fixed template, never a template itself. Apps that render
their own pages call :func:`consent_banner` (also a Jinja2 global, see
:func:`install_jinja2`); the middleware then does not inject it again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from starlette.responses import HTMLResponse, Response
from starlette.types import Scope

from ..endpoints.checks import safe_next
from ..enforcement.headers import request_header
from ..policy.config import CookieDeclaration
from ..policy.policy import Policy
from ..policy.state import ConsentState
from ..records import receipt_url
from .assets import BANNER_CSS, BANNER_JS, asset_response
from .consent_mode import default_command, effective_mapping
from .i18n import Texts, available_languages, negotiate, resolve_texts
from .injection import PagePayloads

RENDERED_KEY = "consent_banner_rendered"
HEAD_RENDERED_KEY = "consent_head_rendered"
_NONCE = re.compile(rb"'nonce-([A-Za-z0-9+/_=-]{1,200})'")
# Stand-ins rendered into the cached markup: letters only, so escaping and URL-encoding
# leave them as they are, and too odd to occur in any text of a policy.
_NEXT_MARK = "zqxconsentnextmarkzqx"
_NEXT_QUERY_MARK = "zqxconsentnextquerymarkzqx"
_NONCE_MARK = "zqxconsentnoncemarkzqx"
_MARKS = re.compile(f"({_NEXT_MARK}|{_NEXT_QUERY_MARK}|{_NONCE_MARK})")
_RENDER_CACHE_SIZE = 256


class _RenderKey(NamedTuple):
    """What the cached markup depends on."""

    language: str
    decided: bool
    granted: frozenset[str]
    gpc: bool
    mode: str
    has_nonce: bool


# The markup's bytes between the stand-ins, and the stand-ins in order.
_Template = tuple[tuple[bytes, ...], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class _CategoryView:
    name: str
    title: str
    description: str
    required: bool
    cookies: tuple[CookieDeclaration, ...]


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("consent.banner", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def current_path(scope: Scope) -> str:
    """The request's path and query, as a safe ``next=`` value."""
    path = quote(scope.get("path", "/"), safe="/%:@!$&'()*+,;=-._~")
    query = scope.get("query_string", b"")
    if query:
        path += "?" + bytes(query).decode("latin-1")
    return safe_next(path)


def nonce_in_policies(policies: Iterable[bytes]) -> str | None:
    """The first ``'nonce-…'`` of the app's ``Content-Security-Policy`` values."""
    for value in policies:
        match = _NONCE.search(value)
        if match is not None:
            return match.group(1).decode("ascii")
    return None


class Banner:
    """Everything the visitor sees, for one policy."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        config = policy.config
        self.settings = config.banner
        self.endpoint = config.endpoint
        self.languages = available_languages(self.settings)
        self._texts = {language: resolve_texts(config, language) for language in self.languages}
        env = _environment()
        self._banner = env.get_template("banner.html")
        self._page = env.get_template("page.html")
        self._fragment = env.get_template("fragment.html")
        self._link = env.get_template("settings_link.html")
        self._rendered: dict[_RenderKey, _Template] = {}
        self._filled: dict[tuple[_RenderKey, tuple[str, bytes]], bytes] = {}
        self._negotiated: dict[bytes, str] = {}
        self._pages: dict[tuple[object, ...], PagePayloads] = {}
        self._defaults: dict[tuple[bool, frozenset[str]], bytes] = {}
        self._receipt_url = receipt_url(policy) if config.records.enabled else None
        self.js_url = f"{self.endpoint}/static/{BANNER_JS.filename}"
        self.css_url = f"{self.endpoint}/static/{BANNER_CSS.filename}"
        consent_mode = self.settings.consent_mode
        self._mapping = (
            effective_mapping(consent_mode, policy.category_names) if consent_mode.enabled else None
        )
        self._mapping_json = (
            json.dumps(self._mapping, separators=(",", ":")) if self._mapping is not None else ""
        )

    # -- language and views -------------------------------------------------

    def texts_for(self, scope: Scope, accept_language: bytes | None = None) -> Texts:
        """The texts in the visitor's language: ``accept_language`` is the request's
        ``Accept-Language`` (``b""`` when it sent none), read from ``scope`` when None."""
        if accept_language is None:
            accept_language = request_header(scope, b"accept-language") or b""
        language = self._negotiated.get(accept_language)
        if language is None:
            header = accept_language.decode("latin-1")
            language = negotiate(header, self.languages, self.settings.default_language)
            if len(self._negotiated) >= _RENDER_CACHE_SIZE:
                self._negotiated.clear()  # header values are client-chosen: stay bounded
            self._negotiated[accept_language] = language
        return self._texts[language]

    def _categories(self, texts: Texts) -> list[_CategoryView]:
        return [
            _CategoryView(
                name,
                texts.categories[name].title,
                texts.categories[name].description,
                category.required,
                category.cookies,
            )
            for name, category in self.policy.categories.items()
        ]

    def preferences_url(self, next_path: str) -> str:
        return f"{self.endpoint}/preferences?{urlencode({'next': next_path})}"

    def _context(
        self,
        scope: Scope,
        state: ConsentState,
        *,
        texts: Texts | None = None,
        next_path: str | None = None,
        preferences_url: str | None = None,
    ) -> dict[str, Any]:
        texts = texts or self.texts_for(scope)
        next_path = current_path(scope) if next_path is None else next_path
        return {
            "t": texts,
            "categories": self._categories(texts),
            "granted": [name for name in self.policy.category_names if name in state.granted],
            "decided": state.decided,
            "endpoint": self.endpoint,
            "next": next_path,
            "preferences_url": preferences_url or self.preferences_url(next_path),
            "privacy_url": self.settings.privacy_policy_url,
            # Proof of consent (records/): a visitor who chose can read their own records.
            "receipt_url": self._receipt_url if state.decided else None,
            "css_url": self.css_url,
            "js_url": self.js_url,
            "consent_mode": self._mapping_json,
            "settings_button": self.settings.settings_button,
            # Regimes and GPC (docs/regimes.md, docs/gpc.md).
            "gpc": state.gpc,
            "opt_out": self.policy.config.opt_out.text if state.mode == "opt-out" else None,
        }

    # -- what goes into a page ------------------------------------------------

    def _template(self, key: _RenderKey, scope: Scope, state: ConsentState) -> _Template:
        """The markup for one language and state, split where the per-request values go."""
        template = self._rendered.get(key)
        if template is None:
            context = self._context(
                scope,
                state,
                texts=self._texts[key.language],
                next_path=_NEXT_MARK,
                preferences_url=f"{self.endpoint}/preferences?next={_NEXT_QUERY_MARK}",
            )
            nonce = _NONCE_MARK if key.has_nonce else None
            markup = self._banner.render(context, nonce=nonce)
            pieces = _MARKS.split(markup)
            template = (
                tuple(piece.encode() for piece in pieces[::2]),
                tuple(pieces[1::2]),
            )
            if len(self._rendered) >= _RENDER_CACHE_SIZE:
                self._rendered.clear()
            self._rendered[key] = template
        return template

    def payload(
        self,
        scope: Scope,
        state: ConsentState,
        *,
        nonce: str | None = None,
        accept_language: bytes | None = None,
    ) -> bytes:
        """:meth:`render` as the bytes the middleware injects.

        Rendering the template costs ~140 µs, far more than everything else the
        middleware does for a page, so the markup is rendered once per language and
        state with markers where the page's path and the CSP nonce go. Each request
        joins the pieces around those values; the result for a page without a nonce is
        kept, so a page seen again costs a dictionary lookup.
        """
        language = self.texts_for(scope, accept_language).language
        nonce = nonce or None  # an empty nonce is no nonce: no nonce="" attribute
        has_nonce = nonce is not None
        key = _RenderKey(language, state.decided, state.granted, state.gpc, state.mode, has_nonce)
        page = (scope.get("path", "/"), bytes(scope.get("query_string", b"")))
        if nonce is None:
            filled = self._filled.get((key, page))
            if filled is not None:
                return filled
        pieces, marks = self._template(key, scope, state)
        next_path = current_path(scope)
        values = {
            _NEXT_MARK: str(Markup.escape(next_path)).encode(),
            _NEXT_QUERY_MARK: str(
                Markup.escape(urlencode({"next": next_path})[len("next=") :])
            ).encode(),
            _NONCE_MARK: str(Markup.escape(nonce)).encode() if nonce else b"",
        }
        parts = [pieces[0]]
        for mark, piece in zip(marks, pieces[1:], strict=True):
            parts += (values[mark], piece)
        filled = b"".join(parts)
        if nonce is None:
            # A nonce is new on every response: only pages without one are kept.
            if len(self._filled) >= _RENDER_CACHE_SIZE * 4:
                self._filled.clear()  # paths are client-chosen: stay bounded
            self._filled[(key, page)] = filled
        return filled

    def render(self, scope: Scope, state: ConsentState, *, nonce: str | None = None) -> str:
        """The banner (undecided) or the settings control (decided), with its CSS and JS.

        Neither contains the preference centre: the script fetches it from
        ``{endpoint}/preferences?fragment=1`` when the visitor opens it, and without
        JavaScript the links lead to ``{endpoint}/preferences`` itself.
        """
        return self.payload(scope, state, nonce=nonce).decode()

    def head_payload(self, state: ConsentState, *, nonce: str | None = None) -> bytes:
        """The Consent Mode ``default`` script as bytes, or ``b""`` when Consent Mode is off."""
        if self._mapping is None:
            return b""
        key = (state.decided, state.granted)  # all default_command reads (GPC is in granted)
        script = self._defaults.get(key)
        if script is None:
            command = default_command(self.settings.consent_mode, self._mapping, state)
            script = f"{command}</script>".encode()
            if len(self._defaults) >= _RENDER_CACHE_SIZE:
                self._defaults.clear()  # visitors choose their granted sets: stay bounded
            self._defaults[key] = script
        if nonce:
            return b'<script nonce="' + str(Markup.escape(nonce)).encode() + b'">' + script
        return b"<script>" + script

    def head(self, state: ConsentState, *, nonce: str | None = None) -> str:
        """The Consent Mode ``default`` command, or ``""`` when Consent Mode is off."""
        return self.head_payload(state, nonce=nonce).decode()

    def settings_link(
        self, scope: Scope, *, label: str | None = None, css_class: str | None = None
    ) -> str:
        texts = self.texts_for(scope)
        return self._link.render(
            preferences_url=self.preferences_url(current_path(scope)),
            label=label if label is not None else texts["settings"],
            css_class=css_class,
        )

    # -- the middleware's hooks -----------------------------------------------

    def page_payloads(
        self, scope: Scope, state: ConsentState, nonce: str | None, accept_language: bytes
    ) -> PagePayloads:
        """What goes into this HTML page: the Consent Mode default after ``<head>`` and the
        banner (or settings control) before ``</body>``; each empty when the app's
        template already placed it (``consent_head``, ``consent_banner``).

        ``nonce`` is the app's own CSP nonce, else ours (signals/csp.py), else None;
        ``accept_language`` the request's ``Accept-Language`` (``b""`` for none). Both
        payloads of a page without a nonce are kept: a page seen again in the same
        language and state costs one dictionary probe.
        """
        scope_state = scope["state"]
        head_placed = scope_state.get(HEAD_RENDERED_KEY, False)
        body_placed = scope_state.get(RENDERED_KEY, False)
        if nonce is None and not head_placed and not body_placed:
            key = (
                accept_language,
                state.decided,
                state.granted,
                state.gpc,
                state.mode,
                scope["path"],
                scope.get("query_string", b""),
            )
            payloads = self._pages.get(key)
            if payloads is None:
                head = self.head_payload(state)
                body = self.payload(scope, state, accept_language=accept_language)
                payloads = PagePayloads(head, body)
                if len(self._pages) >= _RENDER_CACHE_SIZE * 4:
                    self._pages.clear()  # paths and languages are client-chosen: bounded
                self._pages[key] = payloads
            return payloads
        head = b"" if head_placed else self.head_payload(state, nonce=nonce)
        if body_placed:
            return PagePayloads(head, b"")
        body = self.payload(scope, state, nonce=nonce, accept_language=accept_language)
        return PagePayloads(head, body)

    def route(self, scope: Scope, state: ConsentState) -> Response | None:
        """Answer ``{endpoint}/static/<asset>`` and ``{endpoint}/preferences``; else ``None``."""
        sub_path = scope["path"][len(self.endpoint) :]
        if sub_path.startswith("/static/") and scope["method"] in ("GET", "HEAD"):
            return asset_response(sub_path[len("/static/") :])
        if sub_path == "/preferences" and scope["method"] in ("GET", "HEAD"):
            return self._preferences(scope, state)
        return None

    def _preferences(self, scope: Scope, state: ConsentState) -> Response:
        """The preference centre: a page of its own (how it opens without JavaScript), or
        with ``fragment=1`` the centre's markup alone, which the banner script fetches
        when the visitor opens it. Both show the visitor's current choices, so neither
        may be cached.
        """
        context = self._context(scope, state)
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        fields = _parse_query(query)
        next_values = [v for k, v in fields if k == "next"]
        context["next"] = safe_next(next_values[0] if next_values else None)
        fragment = ("fragment", "1") in fields
        body = (self._fragment if fragment else self._page).render(context)
        return HTMLResponse(
            body,
            headers={
                "cache-control": "no-store",
                "vary": "Cookie, Accept-Language",
                "content-language": context["t"].language,
            },
        )


def _parse_query(query: str) -> list[tuple[str, str]]:
    """The query's fields; none at all when there are too many (never a 500)."""
    try:
        return parse_qsl(query, keep_blank_values=True, max_num_fields=20)
    except ValueError:  # more than max_num_fields
        return []
