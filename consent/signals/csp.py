"""Consent-driven Content-Security-Policy: the browser itself refuses hosts not consented to.

Each category may list the third-party hosts it loads (``hosts:``). With ``csp.enabled``
the middleware adds one ``Content-Security-Policy`` header to every response a browser
can run (HTML, XHTML, SVG, JavaScript for workers): the governed directives allow
``'self'`` and the hosts of the granted categories (required ones always), nothing else.

It never edits a policy the app sent: it adds a second header, and browsers enforce every
policy they receive, so what is allowed is the intersection and can only shrink. To keep
the app's own inline scripts running under both policies, the nonces, hashes and eval
keywords of the app's ``script-src`` are copied into ours (copying cannot loosen anything,
the app's header still applies).

Per request the work is a nonce (made 256 at a time) and, for a runnable response, two
cache look-ups and two concatenations: the middleware's one pass over the response
headers finds the ``Content-Type`` and any policy of the app's, and the header text
around the nonce is built once per granted mask and cached. When the app sends a CSP of
its own, its ``script-src`` is also read on each runnable response.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..policy.policy import Policy

NONCE_KEY = "csp_nonce"  # scope["state"] key; templates read request.state.csp_nonce
_CACHE_SIZE = 4096
# Nonces are made in batches: one urandom call and one hex pass per 256 requests.
# 18 random bytes (144 bits, above CSP's 128) make 36 hex digits: hex digits are base64
# characters, as CSP asks, and bytes.hex() can put a separator between nonces.
_NONCE_BYTES = 18
_NONCE_BATCH = 256
CONTENT_TYPE = b"content-type"
CSP_HEADER = b"content-security-policy"
# What a browser runs as a document or a worker; a worker's policy comes from its own
# script's response. Other responses (JSON, images, CSS) cannot load anything themselves.
RUNNABLE_TYPES = frozenset(
    (
        b"text/html",
        b"application/xhtml+xml",
        b"image/svg+xml",
        b"text/javascript",
        b"application/javascript",
    )
)
# data: and blob: URLs make no request to anyone, so they stay allowed where sites use
# them most (inline icons, fonts, media streams); scripts and frames do not get them.
_LOCAL_SOURCES = {"img-src": " data: blob:", "font-src": " data:", "media-src": " data: blob:"}
_INLINE_PREFIXES = (b"'nonce-", b"'sha256-", b"'sha384-", b"'sha512-")
_CARRIED_KEYWORDS = frozenset((b"'unsafe-eval'", b"'wasm-unsafe-eval'", b"'unsafe-hashes'"))


class ContentSecurityPolicy:
    """Builds the consent CSP header of a response from the granted categories."""

    def __init__(self, policy: Policy) -> None:
        settings = policy.config.csp
        self.header_name = CSP_HEADER + b"-report-only" if settings.report_only else CSP_HEADER
        self.directives = settings.directives
        self.governs_scripts = "script-src" in settings.directives
        self.uses_nonce = settings.nonce and self.governs_scripts
        self._unsafe_eval = settings.unsafe_eval
        self._report_uri = settings.report_uri
        # Only categories with hosts change the header: the cache key drops every other bit.
        self._hosts: list[tuple[int, tuple[str, ...]]] = [
            (policy.bit(name), category.hosts)
            for name, category in policy.categories.items()
            if category.hosts
        ]
        self.hosts_mask = sum(bit for bit, _ in self._hosts)
        # Header parts by granted host mask.
        self._parts: dict[int, Parts] = {}
        # Nonces are drawn 256 at a time; ``list.pop`` is atomic, so two threads never
        # get the same one. None when scripts are not governed by a nonce.
        self._nonces: list[str] | None = _nonce_batch() if self.uses_nonce else None
        self._runnable: dict[bytes, bool] = {}  # Content-Type value -> runnable

    def next_nonce(self) -> str | None:
        """A fresh nonce for this response (text, as templates read it); None when the
        policy's ``script-src`` takes none."""
        if self._nonces is None:
            return None
        try:
            return self._nonces.pop()
        except IndexError:  # the batch is used up
            # Threads refilling at once each take from their own batch.
            self._nonces = batch = _nonce_batch()
            return batch.pop()

    def _learn_parts(self, key: int) -> Parts:
        """The header text around the per-response part of ``script-src`` (a cache miss)."""
        if len(self._parts) >= _CACHE_SIZE:  # pragma: no cover - 4,097 distinct choices
            self._parts.clear()  # masks are signed, but keep memory bounded anyway
        before, after = self._build(key)
        # The nonce's own quoting folded in: one concatenation per response fewer.
        parts = self._parts[key] = Parts(before, after, before + b" 'nonce-", b"'" + after)
        return parts

    def _build(self, mask: int) -> tuple[bytes, bytes]:
        hosts: list[str] = []
        for bit, category_hosts in self._hosts:
            if bit & mask:
                hosts.extend(host for host in category_hosts if host not in hosts)
        allowed_hosts = "".join(" " + host for host in hosts)
        others: list[str] = []
        for directive in self.directives:
            if directive != "script-src":
                # Inline styles fetch nothing themselves; url() in them is img-src's job.
                inline = " 'unsafe-inline'" if directive == "style-src" else ""
                local = _LOCAL_SOURCES.get(directive, "")
                others.append(f"{directive} 'self'{inline}{local}{allowed_hosts}")
        if self._report_uri is not None:
            others.append(f"report-uri {self._report_uri}")
        if not self.governs_scripts:
            return "; ".join(others).encode("ascii"), b""
        # script-src comes first so that the per-response part sits between two constants.
        before = "script-src 'self'"
        if not self.uses_nonce:
            before += " 'unsafe-inline'"
        if self._unsafe_eval:
            before += " 'unsafe-eval'"
        after = allowed_hosts + "".join("; " + text for text in others)
        return before.encode("ascii"), after.encode("ascii")

    def script_extras(self, nonce: bytes | None, app_policies: Sequence[bytes]) -> bytes:
        """Our nonce, and the inline allowances copied from the app's ``app_policies``."""
        if not self.governs_scripts:
            return b""
        mine = b" 'nonce-" + nonce + b"'" if nonce is not None else b""
        lists = _app_script_sources(app_policies)
        carried: list[bytes] = []
        inline_everywhere = bool(lists)
        for sources in lists:
            lowered = [source.lower() for source in sources]
            if (
                b"'unsafe-inline'" not in lowered
                or b"'strict-dynamic'" in lowered
                or any(low.startswith(_INLINE_PREFIXES) for low in lowered)
            ):
                inline_everywhere = False
            for source, low in zip(sources, lowered, strict=True):
                if (low.startswith(_INLINE_PREFIXES) or low in _CARRIED_KEYWORDS) and (
                    source not in carried
                ):
                    carried.append(source)
        if inline_everywhere and self.uses_nonce:
            # The app runs inline scripts without a nonce; a nonce of ours would switch its
            # 'unsafe-inline' off in our policy (CSP ignores it next to a nonce).
            mine = b" 'unsafe-inline'"
        return mine + b"".join(b" " + source for source in carried)

    def _learn_runnable(self, content_type: bytes) -> bool:
        runnable = content_type.split(b";", 1)[0].strip().lower() in RUNNABLE_TYPES
        if len(self._runnable) >= 256:  # pragma: no cover - apps use a handful of types
            self._runnable.clear()
        self._runnable[content_type] = runnable
        return runnable

    def header_value(
        self, content_type: bytes, allowed: int, nonce: bytes | None, app_policies: Sequence[bytes]
    ) -> bytes | None:
        """Our header for a response of ``content_type``; ``None`` when it runs nothing.

        Called by the middleware's header pass, which found the ``Content-Type`` and the
        app's own policies (``app_policies``) on its way: on the usual path this is two
        cache look-ups and two concatenations.
        """
        runnable = self._runnable.get(content_type)
        if runnable is None:
            runnable = self._learn_runnable(content_type)
        if not runnable:
            return None
        key = allowed & self.hosts_mask
        parts = self._parts.get(key)
        if parts is None:
            parts = self._learn_parts(key)
        if app_policies:
            return parts.before + self.script_extras(nonce, app_policies) + parts.after
        if nonce is not None:
            return parts.before_nonce + nonce + parts.after_nonce
        return parts.before + parts.after


class Parts(NamedTuple):
    """Our header for one granted mask, around the per-response nonce of ``script-src``."""

    before: bytes
    after: bytes
    before_nonce: bytes  # ``before`` and the nonce's opening quote
    after_nonce: bytes  # the nonce's closing quote and ``after``


def _nonce_batch() -> list[str]:
    """256 fresh nonces: one urandom call, cut by ``split`` in C at the separators."""
    return secrets.token_bytes(_NONCE_BYTES * _NONCE_BATCH).hex(" ", _NONCE_BYTES).split(" ")


def _app_script_sources(values: Sequence[bytes]) -> list[list[bytes]]:
    """The script source list of each policy the app enforces (``script-src``, else
    ``default-src``); a policy restricting neither allows every script and adds none."""
    lists: list[list[bytes]] = []
    for value in values:
        for policy in value.split(b","):  # one header may carry several policies
            directives: dict[bytes, list[bytes]] = {}
            for directive in policy.split(b";"):
                tokens = directive.split()
                if tokens:
                    # A repeated directive is ignored by browsers: the first one counts.
                    directives.setdefault(tokens[0].lower(), tokens[1:])
            sources = directives.get(b"script-src", directives.get(b"default-src"))
            if sources is not None:
                lists.append(sources)
    return lists


def csp_nonce(request: Any) -> str | None:
    """This request's CSP nonce for ``<script nonce="...">``; ``None`` when there is none.

    ``request`` is anything with an ASGI ``scope`` (Starlette, FastAPI, Litestar, Django
    under ASGI); the same value is ``request.state.csp_nonce`` in Starlette.
    """
    state = request.scope.get("state") or {}
    nonce = state.get(NONCE_KEY)
    return nonce if isinstance(nonce, str) else None
