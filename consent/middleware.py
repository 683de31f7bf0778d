"""``ConsentMiddleware``: the pure ASGI layer that enforces the policy.

Shaped like Starlette's ``SessionMiddleware``: all one-time work in ``__init__``,
per-request state in locals of ``__call__`` and a wrapped ``send`` (a ``partial`` of
``_plain_message`` or ``_csp_message``, or the
banner's ``send_wrapper``: see the comment above those functions). The loops over
headers and cookies are in scan.py. Only headers are touched;
bodies stream through (rule 1, and "zero work per body chunk").
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from email.utils import formatdate
from functools import partial
from time import time as _now
from typing import TYPE_CHECKING, Any

from starlette.types import Message, Receive, Scope, Send

from .banner.injection import BANNER_KEY, is_injectable
from .enforcement.cookies import (
    MAX_COOKIE_HEADER_BYTES,
    MAX_REQUEST_COOKIES,
    WHITESPACE,
    build_set_cookie,
    expire_cookie,
    parse_cookie_header,
    set_cookie_name,
)
from .enforcement.headers import VARY_COOKIE, add_vary_cookie
from .enforcement.scan import implementation
from .enforcement.tokens import TokenSigner, normalize_keys
from .errors import ConfigError
from .policy.lifetimes import Lifetimes
from .policy.policy import Policy
from .policy.state import ConsentState
from .records import build_recorder
from .signals.csp import NONCE_KEY
from .signals.gpc import WELL_KNOWN_PATH, WellKnownGpc
from .signals.regimes import Regime, Regimes, Views

if TYPE_CHECKING:
    from .signals.csp import ContentSecurityPolicy

SECRET_KEYS_ENV = "CONSENT_SECRET_KEYS"  # noqa: S105 - a variable name, not a key
_CACHE_SIZE = 8192
# Set-Cookie keep-or-drop caches: one per distinct allowed mask (a choice, or a regime's
# default), each bounded on its own; at most 128 x 1,024 entries in all.
_MASKS_CACHED = 128
_KEEPS_PER_MASK = 1024
_VARY = b"vary"
_SET_COOKIE = b"set-cookie"
_COOKIE = b"cookie"
_SECURE_SCHEMES = ("https", "wss")
# Any ASGI callable: frameworks type their scope/receive/send differently (Litestar uses
# its own TypedDicts), and Starlette's ``ASGIApp`` would reject them under mypy.
AnyASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
# Messages that carry response headers; a refused websocket handshake (the
# websocket.http.response extension) sets cookies as well as an accepted one.
_START_MESSAGES = frozenset(
    ("http.response.start", "websocket.accept", "websocket.http.response.start")
)


class _Verdict:
    """What the middleware knows about one cookie name, cached per name."""

    __slots__ = ("bit", "expiry")

    def __init__(self, bit: int, expiry: bytes | None) -> None:
        self.bit = bit
        self.expiry = expiry


class _Decision:
    """A verified consent cookie value, cached until its ``max_age`` runs out."""

    __slots__ = ("allowed", "expires_at", "regime", "regional", "state", "views")

    def __init__(self, state: ConsentState | None, allowed: int, expires_at: float) -> None:
        self.state = state
        self.allowed = allowed
        self.expires_at = expires_at
        # An outdated token's undecided states per regime and signal (regimes.py).
        self.views: Views = {}
        # A current choice's state under the regime of the visitor's latest request: one
        # slot, read from this object (already in the processor's cache), rebuilt when
        # the visitor's region changes, which is rare.
        self.regime: Regime | None = None
        self.regional: ConsentState | None = None


def secret_keys_from_env() -> list[str] | None:
    raw = os.environ.get(SECRET_KEYS_ENV, "")
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    return keys or None


class ConsentMiddleware:
    """Remove every cookie the visitor did not consent to, and serve the consent endpoints.

    ``secret_keys`` is one key or a sequence ordered oldest → newest: the last one
    signs, all of them verify. When omitted, ``CONSENT_SECRET_KEYS`` (comma-separated)
    is read; without either the middleware refuses to start.
    """

    def __init__(
        self,
        app: AnyASGIApp,
        *,
        policy: Policy,
        secret_keys: str | bytes | Sequence[str | bytes] | None = None,
        max_body_bytes: int = 16 * 1024,
    ) -> None:
        from .banner.render import Banner  # imported here: both need this module's types
        from .endpoints.handler import Endpoints

        self.app = app
        self.policy = policy
        config = policy.config
        if secret_keys is None:
            secret_keys = secret_keys_from_env()
            if secret_keys is None:
                raise ConfigError(
                    "no secret key: pass secret_keys=... to ConsentMiddleware or set "
                    f"{SECRET_KEYS_ENV} (comma-separated, newest last); "
                    "`consent keygen` prints a new key",
                    key="secret_keys",
                )
        # Re-consent (lifetimes.py): acceptance and refusal each last their own time from
        # the signed issue time; the signer already refuses anything older than both.
        self.lifetimes = Lifetimes.from_settings(config.cookie, policy.optional_mask)
        self.max_age = self.lifetimes.longest
        self.signer = TokenSigner(normalize_keys(secret_keys), max_age_seconds=self.max_age)
        self.endpoint = config.endpoint
        self._endpoint_prefix = config.endpoint + "/"
        # Verdict bits: the policy's category bits (1 << index), then four of ours just
        # above them: cookies the file does not declare, our own cookie under its plain
        # and its secure name (one bit each, so that the scan knows the one it looks for
        # from the bit alone), and TRUNCATED, set by the scan when the Cookie header went
        # past the parsing bounds (never allowed, so the header is rebuilt from the
        # parsed pieces: the unparsed rest must not reach the app). Right above the
        # categories, not at fixed high positions, so that every mask stays a one-digit
        # int (below 2**30) for any realistic policy: CPython then takes its fast path
        # for ``|``, ``&`` and ``==`` instead of allocating a bignum, and below 256 (up
        # to five categories) the masks are cached small ints.
        top = len(policy.category_names)
        self._undeclared = 1 << top
        own_plain, own_secure = 1 << (top + 1), 1 << (top + 2)
        self._own_bits = {False: own_plain, True: own_secure}  # by ``secure``
        self._own = own_plain | own_secure  # what masks allow: both names
        self._truncated = 1 << (top + 3)
        self._allow_undeclared = self._undeclared if config.undeclared == "allow" else 0
        cookie = config.cookie
        self._plain_name = cookie.name
        self._secure_name = ("__Secure-" if cookie.domain else "__Host-") + cookie.name
        self._secure_auto = cookie.secure == "auto"
        self._secure = bool(cookie.secure)
        self._undecided_allowed = policy.required_mask | self._own | self._allow_undeclared
        # Regimes and GPC (regimes.py, gpc.py): undecided states per region and signal are
        # built once; a request costs one dict look-up. A geo header is read only when
        # the file names it (trusted).
        self.regimes = Regimes(policy, always=self._own | self._allow_undeclared)
        self._well_known_gpc = WellKnownGpc(config) if config.gpc else None
        # The request headers __call__ reads, in the order it unpacks them (None: not read).
        self._request_names = (
            _COOKIE,
            b"sec-gpc" if config.gpc else None,
            self.regimes.header,
            self.regimes.subdivision_header,
        )
        # Paths the middleware answers itself: one startswith per request rules them
        # all out before the exact comparisons.
        self._special_paths = (
            (config.endpoint, WELL_KNOWN_PATH) if config.gpc else (config.endpoint,)
        )
        self._verdicts: dict[bytes, _Verdict] = {}
        # Hot-path shortcuts keyed by the raw text before the first "=" (of a request
        # cookie piece, of a Set-Cookie value): the name is a function of that text, so
        # one partition and one dict probe replace parsing each cookie. Request cookies
        # map to their verdict bit (what is allowed is only known once the consent
        # cookie is found); Set-Cookies, per allowed mask, straight to keep or drop: a
        # bool the interpreter tests without a call, and no ``&`` per cookie.
        self._request_bits: dict[bytes, int] = {}
        self._set_cookie_keeps: dict[int, dict[bytes, bool]] = {}
        # The loops over headers and cookies (scan.py); the methods that fill their
        # caches on a miss are bound once, here.
        loops = implementation(top + 4)
        self._read_request = loops.read_headers
        self._scan_cookies = loops.scan_cookies
        self._filter_headers = loops.filter_headers
        # What scan_cookies needs besides the header and our cookie's bit (scan.py).
        self._scan_context = (
            self._request_bits,
            self._request_bit,
            self._undeclared,
            self._truncated,
            MAX_REQUEST_COOKIES,
            MAX_COOKIE_HEADER_BYTES,
        )
        self._learn_keep_bound = self._learn_keep
        self._decisions: dict[bytes, _Decision] = {}
        self.records = build_recorder(config.records, policy)
        self.endpoints = Endpoints(self, max_body_bytes=max_body_bytes)
        self.banner = Banner(policy)
        self._inject = self.banner.injects
        # Consent-driven Content-Security-Policy (csp.py); None when the file leaves it off.
        self.csp: ContentSecurityPolicy | None = None
        if config.csp.enabled:
            from .signals.csp import ContentSecurityPolicy

            self.csp = ContentSecurityPolicy(policy)

        # No CSP and no banner: every request takes the plain filtering send.
        self._plain_send = self.csp is None and not self._inject

    # -- per-name and per-token knowledge, cached ---------------------------

    def _verdict(self, name: bytes) -> _Verdict:
        verdict = self._verdicts.get(name)
        if verdict is not None:
            return verdict
        text = name.decode("latin-1")
        if text == self._plain_name:
            verdict = _Verdict(self._own_bits[False], None)
        elif text == self._secure_name:
            verdict = _Verdict(self._own_bits[True], None)
        else:
            found = self.policy.declaration_of(text) if text else None
            if found is None:
                verdict = _Verdict(self._undeclared, None)
            else:
                category, declaration = found
                expiry = None
                if self.policy.is_safe_cookie_name(text):
                    expiry = expire_cookie(
                        text,
                        path=declaration.path,
                        domain=declaration.domain,
                        partitioned=declaration.partitioned,
                    )
                verdict = _Verdict(self.policy.bit(category), expiry)
        if len(self._verdicts) >= _CACHE_SIZE:
            self._verdicts.clear()  # names are client-chosen: keep the cache bounded
        self._verdicts[name] = verdict
        return verdict

    def _request_bit(self, raw_name: bytes) -> int:
        """The bit of a request cookie piece ``raw_name=...`` (a cache miss in ``__call__``)."""
        # parse_cookie_header strips the piece, then the text before "=": same name.
        bit = self._verdict(raw_name.strip(WHITESPACE)).bit
        if len(self._request_bits) >= _CACHE_SIZE:
            self._request_bits.clear()  # client-chosen: keep the cache bounded
        self._request_bits[raw_name] = bit
        return bit

    def _set_cookie_bit(self, value: bytes) -> int:
        """The verdict bit of a ``Set-Cookie`` value (its name parsed as browsers do)."""
        return self._verdict(set_cookie_name(value)).bit

    def _keeps(self, allowed: int) -> dict[bytes, bool]:
        """The keep-or-drop cache of one allowed mask (a cache miss of ``_filter``)."""
        if len(self._set_cookie_keeps) >= _MASKS_CACHED:
            self._set_cookie_keeps.clear()  # masks are signed choices, but stay bounded
        keeps: dict[bytes, bool] = {}
        self._set_cookie_keeps[allowed] = keeps
        return keeps

    def _learn_keep(self, keeps: dict[bytes, bool], value: bytes, allowed: int) -> bool:
        """Whether a ``Set-Cookie`` with a name may leave (a cache miss of ``_filter``)."""
        keep = bool(self._set_cookie_bit(value) & allowed)
        if len(keeps) >= _KEEPS_PER_MASK:
            keeps.clear()  # names are the app's, but keep the cache bounded anyway
        # Text before the first "=" decides the name: a ";" in it makes it nameless.
        keeps[value.partition(b"=")[0]] = keep
        return keep

    def _decision(self, raw: bytes, now: float) -> _Decision:
        """Verify ``raw`` (a cache miss or an expired entry of ``_decisions``)."""
        policy = self.policy
        token = self.signer.verify(raw)
        if token is None:
            decision = _Decision(None, 0, now + 3600)
        elif now >= token.issued_at + self.lifetimes.of(token.mask & policy.all_mask):
            # Past the lifetime of its kind (acceptance or refusal): as if expired.
            decision = _Decision(None, 0, now + 3600)
        elif (
            token.revision != policy.config.revision
            or token.taxonomy not in policy.accepted_taxonomies
        ):
            # A valid but outdated choice: ask again, keep the pseudonymous id.
            stale = policy.undecided(consent_id=token.consent_id)
            lifetime = self.lifetimes.of(token.mask & policy.all_mask)
            decision = _Decision(stale, 0, token.issued_at + lifetime)
        else:
            mask = token.mask & policy.all_mask
            state = policy.decided(mask, consent_id=token.consent_id, issued_at=token.issued_at)
            allowed = mask | policy.required_mask | self._own | self._allow_undeclared
            decision = _Decision(state, allowed, token.issued_at + self.lifetimes.of(mask))
        if len(self._decisions) >= _CACHE_SIZE:
            self._decisions.pop(next(iter(self._decisions)))
        self._decisions[raw] = decision
        return decision

    def allowed_mask(self, state: ConsentState) -> int:
        """What may pass for a state the endpoints just decided."""
        # From ``granted`` in every state: an undecided opt-out visitor is granted more.
        return self.policy.mask_of(state.granted) | self._own | self._allow_undeclared

    def consent_cookie(self, state: ConsentState, *, secure: bool) -> bytes:
        """The signed consent cookie for a decided ``state`` (HttpOnly, SameSite=Lax, Path=/)."""
        assert state.consent_id is not None
        mask = self.policy.mask_of(state.granted)
        token = self.signer.sign(
            revision=self.policy.config.revision,
            mask=mask,
            taxonomy=self.policy.taxonomy,
            consent_id=state.consent_id,
        )
        cookie = self.policy.config.cookie
        lifetime = self.lifetimes.of(mask)  # acceptance or refusal
        return build_set_cookie(
            self._secure_name if secure else self._plain_name,
            token,
            max_age=lifetime,
            expires=formatdate(self.signer.now() + lifetime, usegmt=True),
            path="/",
            domain=cookie.domain,
            secure=secure,
            http_only=True,
            same_site="Lax",
        )

    def expirations(self, pairs: list[tuple[bytes, bytes]], allowed: int) -> list[bytes]:
        """Deleting ``Set-Cookie``s for request cookies of categories not granted."""
        result: list[bytes] = []
        seen: set[bytes] = set()
        for name, _ in pairs:
            verdict = self._verdict(name)
            if verdict.expiry is not None and not verdict.bit & allowed and name not in seen:
                seen.add(name)
                result.append(verdict.expiry)
        return result

    def _filter(
        self,
        headers: Any,
        allowed: int,
        expiries: Sequence[bytes],
        csp: ContentSecurityPolicy | None = None,
        nonce: bytes | None = None,
    ) -> list[tuple[bytes, bytes]]:
        """Drop ``Set-Cookie``s not allowed, add ``expiries`` and ``Vary: Cookie`` where needed.

        With ``csp``, also add the consent CSP to a response that runs scripts (csp.py):
        its ``Content-Type`` and the app's own policies are found in the same pass.
        The pass itself is ``filter_headers`` (scan.py).
        """
        keeps = self._set_cookie_keeps.get(allowed)
        if keeps is None:
            keeps = self._keeps(allowed)
        result, vary_index, content_type, app_policies, set_cookie = self._filter_headers(
            headers, keeps, self._learn_keep_bound, allowed, self._undeclared, csp is not None
        )
        append = result.append
        for expiry in expiries:
            append((_SET_COOKIE, expiry))
        if content_type is not None:  # implies csp
            assert csp is not None
            policy = csp.header_value(content_type, allowed, nonce, app_policies)
            if policy is not None:
                append((csp.header_name, policy))
                # The policy depends on the consent cookie too: Vary as if a Set-Cookie
                # had been seen (no flag of its own on the path without a CSP).
                set_cookie = True
        if set_cookie or expiries:
            if vary_index < 0:
                append(VARY_COOKIE)
            else:
                result[vary_index] = (_VARY, add_vary_cookie(result[vary_index][1]))
        return result

    # -- the ASGI entry point -------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            if scope_type == "lifespan" and self.records is not None:
                receive = self.records.lifespan_receive(receive)  # open/close the records store
            await self.app(scope, receive, send)
            return

        # The headers that can matter here (scan.read_headers): Cookie, Sec-GPC when
        # honoured, the geo headers when regimes are on. Several Cookie headers are
        # joined, and then always rebuilt as one.
        cookie_header, gpc_value, geo, geo_subdivision, several = self._read_request(
            scope["headers"], self._request_names
        )
        gpc = gpc_value is not None and gpc_value.strip() == b"1"
        regimes = self.regimes
        regime = regimes.default if geo is None else regimes.resolve(geo, geo_subdivision)
        # Over https the consent cookie carries the __Host-/__Secure- prefix.
        secure = scope.get("scheme") in _SECURE_SCHEMES if self._secure_auto else self._secure
        header = b""
        present = 0  # the verdict bits of the request's cookies
        raw = None
        if cookie_header is not None:
            header = cookie_header
            # One pass over the request cookies (scan.py): the union of the cookies'
            # verdict bits (every verdict is one bit, so a bit outside ``allowed`` means
            # some cookie must be stripped) and the value of the first cookie named like
            # ours on this scheme (first occurrence wins).
            present, raw = self._scan_cookies(header, self._scan_context, self._own_bits[secure])

        state: ConsentState | None = None
        allowed = self._undecided_allowed
        if raw:
            decision = self._decisions.get(raw)
            now = _now()
            if decision is None or now >= decision.expires_at:
                decision = self._decision(raw, now)
            state = decision.state
            if state is not None:
                if state.decided:
                    allowed = decision.allowed
                    if regime is not regimes.default:
                        if regime is decision.regime:  # the visitor's region last time
                            state = decision.regional
                        else:
                            state = decision.regional = regime.view(state)
                            decision.regime = regime
                else:
                    # A valid but outdated choice: undecided here, with the same id.
                    state = regime.stale(state, gpc, decision.views)
        if state is None:
            state = regime.undecided_gpc if gpc else regime.undecided
        if not state.decided:
            # Undecided: the regime decides what passes (opt-in: nothing optional).
            allowed = regime.allowed_gpc if gpc else regime.allowed

        scope_state = scope.get("state")
        if scope_state is None:
            scope["state"] = scope_state = {}
        scope_state["consent"] = state
        scope_state[BANNER_KEY] = self.banner  # for the template helpers

        if scope_type == "http" and scope["path"].startswith(self._special_paths):
            path: str = scope["path"]
            if path == WELL_KNOWN_PATH and self._well_known_gpc is not None:
                await self._well_known_gpc(scope, receive, send)
                return
            if path == self.endpoint or path.startswith(self._endpoint_prefix):
                pairs = parse_cookie_header(header) if cookie_header is not None else []
                await self.endpoints.handle(scope, receive, send, state, pairs, secure)
                return
        csp = None
        nonce: bytes | None = None  # as the CSP header carries it
        if not self._plain_send and scope_type == "http":
            csp = self.csp
            if csp is not None and csp.take_nonce is not None:
                try:
                    text = csp.take_nonce()
                except IndexError:  # the batch is used up
                    text = csp.refill_nonces()
                scope_state[NONCE_KEY] = text  # templates: request.state.csp_nonce
                nonce = text.encode()

        # Strip what the app could not have set, and remember what to expire. Usually
        # every cookie is allowed: then the request's headers are left as they are (and
        # no list of expirations is allocated).
        expiries: Sequence[bytes] = ()
        if present & ~allowed or several:
            expiries = []
            kept: list[bytes] = []
            verdict_of = self._verdict
            for name, pair in parse_cookie_header(header):
                verdict = verdict_of(name)
                if verdict.bit & allowed:
                    kept.append(pair)
                elif verdict.expiry is not None and verdict.expiry not in expiries:
                    expiries.append(verdict.expiry)
            headers = [(k, v) for k, v in scope["headers"] if k != _COOKIE]
            if kept:
                headers.append((_COOKIE, b"; ".join(kept)))
            scope = dict(scope)
            scope["headers"] = headers
        # The banner goes into HTML pages (banner.py); whether a response is one is only
        # known at http.response.start, so the injecting send is made then, if at all.
        if (
            not self._plain_send
            and self._inject
            and scope_type == "http"
            and scope["method"] != "HEAD"
        ):
            send_page = self._page_send(scope, state, send, allowed, expiries, csp, nonce)
            await self.app(scope, receive, send_page)
        elif csp is not None:  # the other sends: partials (see _plain_message below)
            await self.app(
                scope, receive, partial(_csp_message, self, send, allowed, expiries, nonce)
            )
        else:
            await self.app(
                scope, receive, partial(_plain_message, self, send, allowed, expiries, None)
            )

    def _page_send(
        self,
        scope: Scope,
        state: ConsentState,
        send: Send,
        allowed: int,
        expiries: Sequence[bytes],
        csp: ContentSecurityPolicy | None,
        nonce: bytes | None,
    ) -> Send:
        """The ``send`` of an HTML request (not HEAD) with the banner on: the cookie
        filter and the CSP as in ``_csp_message``, then the banner into an injectable page."""
        filter_headers = self._filter
        target = send

        async def send_wrapper(message: Message) -> None:
            nonlocal target
            if message["type"] in _START_MESSAGES:
                headers = message.get("headers")
                if headers is not None or expiries:  # no headers: no Content-Type, no CSP
                    message["headers"] = headers = filter_headers(
                        headers or (), allowed, expiries, csp, nonce
                    )
                if is_injectable(message.get("status", 200), headers or ()):
                    target = self.banner.injector(scope, state, send)
            await target(message)

        return send_wrapper


# The ``send``s the app gets without the banner: ``partial(function, middleware, send,
# ...)``, not closures made in ``__call__``. A closure would turn the locals it reads into
# cells, which cost on every access in ``__call__`` and on every request, whichever
# ``send`` it takes; a ``partial`` is built and called in C, and a plain function
# returning ``send``'s awaitable (not a coroutine of its own) adds no coroutine frame to
# any message. Measured: 550 instructions fewer per request than the closure, 2,700 with
# the CSP on (bench/instructions.py). Two functions rather than one taking ``csp=None``:
# the extra bound arguments cost every request about 300 instructions (measured).


def _plain_message(
    middleware: ConsentMiddleware,
    send: Send,
    allowed: int,
    expiries: Sequence[bytes],
    nonce: None,
    message: Message,
) -> Awaitable[None]:
    """Filter the response's cookies, nothing else (no check the banner and CSP need).

    ``nonce`` is always None: it is there so that every send is called alike."""
    if message["type"] in _START_MESSAGES:
        headers = message.get("headers")
        if headers is not None or expiries:
            message["headers"] = middleware._filter(headers or (), allowed, expiries)
    return send(message)


def _csp_message(
    middleware: ConsentMiddleware,
    send: Send,
    allowed: int,
    expiries: Sequence[bytes],
    nonce: bytes | None,
    message: Message,
) -> Awaitable[None]:
    """``_plain_message`` with the consent CSP added (no banner): HTTP responses only."""
    if message["type"] == "http.response.start":
        headers = message.get("headers")
        if headers is not None or expiries:  # no headers: no Content-Type, no CSP
            message["headers"] = middleware._filter(
                headers or (), allowed, expiries, middleware.csp, nonce
            )
    return send(message)
