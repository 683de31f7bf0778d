"""``ConsentMiddleware``: the pure ASGI layer that enforces the policy.

Shaped like Starlette's ``SessionMiddleware``: all one-time work in ``__init__``,
per-request state in locals of ``__call__`` and a ``send_wrapper``. Only headers
are touched; bodies stream through (rule 1, and "zero work per body chunk").
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from email.utils import formatdate
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from .cookies import (
    MAX_COOKIE_HEADER_BYTES,
    MAX_REQUEST_COOKIES,
    build_set_cookie,
    expire_cookie,
    first_value,
    join_cookie_headers,
    parse_cookie_header,
)
from .cookies import set_cookie_name as _set_cookie_name
from .errors import ConfigError
from .gpc import WELL_KNOWN_PATH, WellKnownGpc
from .lifetimes import Lifetimes
from .policy import Policy
from .regimes import Regime, Regimes
from .signing import TokenSigner, normalize_keys
from .state import ConsentState

SECRET_KEYS_ENV = "CONSENT_SECRET_KEYS"  # noqa: S105 - a variable name, not a key
# Bits above any category bit: cookies the file does not declare, and our own cookie.
UNDECLARED = 1 << 40
OWN = 1 << 41
_CACHE_SIZE = 8192
_VARY = b"vary"
_SET_COOKIE = b"set-cookie"
_COOKIE = b"cookie"
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

    __slots__ = ("allowed", "expires_at", "state", "views")

    def __init__(self, state: ConsentState | None, allowed: int, expires_at: float) -> None:
        self.state = state
        self.allowed = allowed
        self.expires_at = expires_at
        self.views: dict[Regime, ConsentState] = {}  # the state per region (regimes.py)


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
        from .endpoints import Endpoints  # imported here: endpoints needs this module's types

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
        self._allow_undeclared = UNDECLARED if config.undeclared == "allow" else 0
        self._gpc = config.gpc
        cookie = config.cookie
        self._plain_name = cookie.name
        self._secure_name = ("__Secure-" if cookie.domain else "__Host-") + cookie.name
        self._secure_setting = cookie.secure
        self._undecided_allowed = policy.required_mask | OWN | self._allow_undeclared
        # Regimes and GPC (regimes.py, gpc.py): undecided states per region and signal are
        # built once; a request costs one dict look-up. b"" names no header: not trusted.
        self.regimes = Regimes(policy, always=OWN | self._allow_undeclared)
        self._geo_header = self.regimes.header or b""
        self._geo_subdivision_header = self.regimes.subdivision_header or b""
        self._well_known_gpc = WellKnownGpc(config) if config.gpc else None
        self._verdicts: dict[bytes, _Verdict] = {}
        self._decisions: dict[bytes, _Decision] = {}
        self.endpoints = Endpoints(self, max_body_bytes=max_body_bytes)

    # -- per-name and per-token knowledge, cached ---------------------------

    def _verdict(self, name: bytes) -> _Verdict:
        verdict = self._verdicts.get(name)
        if verdict is not None:
            return verdict
        text = name.decode("latin-1")
        if text in (self._plain_name, self._secure_name):
            verdict = _Verdict(OWN, None)
        else:
            found = self.policy.declaration_of(text) if text else None
            if found is None:
                verdict = _Verdict(UNDECLARED, None)
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

    def _decision(self, raw: bytes, now: float) -> _Decision:
        decision = self._decisions.get(raw)
        if decision is not None and now < decision.expires_at:
            return decision
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
            allowed = mask | policy.required_mask | OWN | self._allow_undeclared
            decision = _Decision(state, allowed, token.issued_at + self.lifetimes.of(mask))
        if len(self._decisions) >= _CACHE_SIZE:
            self._decisions.pop(next(iter(self._decisions)))
        self._decisions[raw] = decision
        return decision

    def allowed_mask(self, state: ConsentState) -> int:
        # From ``granted`` in every state: an undecided opt-out visitor is granted more.
        return self.policy.mask_of(state.granted) | OWN | self._allow_undeclared

    def is_secure(self, scope: Scope) -> bool:
        if self._secure_setting == "auto":
            return scope.get("scheme") in ("https", "wss")
        return bool(self._secure_setting)

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

    # -- the ASGI entry point -------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return

        cookie_values: list[bytes] = []
        gpc = False
        geo: bytes | None = None
        geo_subdivision: bytes | None = None
        geo_header, geo_subdivision_header = self._geo_header, self._geo_subdivision_header
        for key, value in scope["headers"]:
            if key == _COOKIE:
                cookie_values.append(value)
            elif key == b"sec-gpc":
                gpc = value.strip() == b"1" and self._gpc
            elif key == geo_header:
                geo = value
            elif key == geo_subdivision_header:
                geo_subdivision = value
        regimes = self.regimes
        regime = regimes.default if geo is None else regimes.resolve(geo, geo_subdivision)
        secure = self.is_secure(scope)
        header = b""
        pairs: list[tuple[bytes, bytes]] = []
        if cookie_values:
            header = (
                cookie_values[0] if len(cookie_values) == 1 else join_cookie_headers(cookie_values)
            )
            pairs = parse_cookie_header(header)

        state: ConsentState | None = None
        allowed = self._undecided_allowed
        raw = first_value(pairs, (self._secure_name if secure else self._plain_name).encode())
        if raw:
            decision = self._decision(raw, self.signer.now())
            state = decision.state
            if state is not None and state.decided:
                allowed = decision.allowed
                if regime is not regimes.default:
                    state = regime.view(state, decision.views)
        if state is None or not state.decided:
            # Undecided: the regime decides what passes (opt-in: nothing optional).
            allowed = regime.allowed_gpc if gpc else regime.allowed
            if state is None:
                state = regime.undecided_gpc if gpc else regime.undecided
            else:
                state = regime.stale(state.consent_id, gpc)

        scope_state = scope.get("state")
        if scope_state is None:
            scope["state"] = scope_state = {}
        scope_state["consent"] = state

        if scope_type == "http":
            path: str = scope["path"]
            if path == WELL_KNOWN_PATH and self._well_known_gpc is not None:
                await self._well_known_gpc(scope, receive, send)
                return
            if path == self.endpoint or path.startswith(self._endpoint_prefix):
                await self.endpoints.handle(scope, receive, send, state, pairs, secure)
                return

        # Strip what the app could not have set, and remember what to expire.
        expiries: list[bytes] = []
        kept: list[bytes] = []
        removed = False
        verdict_of = self._verdict
        for name, pair in pairs:
            verdict = verdict_of(name)
            if verdict.bit & allowed:
                kept.append(pair)
            else:
                removed = True
                if verdict.expiry is not None and verdict.expiry not in expiries:
                    expiries.append(verdict.expiry)
        if removed or len(cookie_values) > 1 or _beyond_bounds(header):
            headers = [(k, v) for k, v in scope["headers"] if k != _COOKIE]
            if kept:
                headers.append((_COOKIE, b"; ".join(kept)))
            scope = dict(scope)
            scope["headers"] = headers

        async def send_wrapper(message: Message) -> None:
            message_type = message["type"]
            if message_type in _START_MESSAGES:
                headers = message.get("headers")
                if headers is not None or expiries:
                    message["headers"] = _filter(headers or (), allowed, expiries, verdict_of)
            await send(message)

        await self.app(scope, receive, send_wrapper)


def _beyond_bounds(header: bytes) -> bool:
    """Whether the parser dropped pieces of ``header``: those must not reach the app
    either, or a long header would smuggle unconsented cookies past the filter."""
    return len(header) > MAX_COOKIE_HEADER_BYTES or header.count(b";") >= MAX_REQUEST_COOKIES


def _filter(
    headers: Any,
    allowed: int,
    expiries: list[bytes],
    verdict_of: Any,
) -> list[tuple[bytes, bytes]]:
    """Drop ``Set-Cookie``s not allowed, add ``expiries`` and ``Vary: Cookie`` where needed."""
    result: list[tuple[bytes, bytes]] = []
    cookies = bool(expiries)
    vary_index = -1
    for header in headers:
        key = header[0].lower()  # ASGI says lower case; an app may not obey
        if key == _SET_COOKIE:
            cookies = True
            if not verdict_of(_set_cookie_name(header[1])).bit & allowed:
                continue
        elif key == _VARY:
            vary_index = len(result)
        result.append(header)
    for expiry in expiries:
        result.append((_SET_COOKIE, expiry))
    if cookies:
        if vary_index < 0:
            result.append((_VARY, b"Cookie"))
        else:
            result[vary_index] = (_VARY, add_vary_cookie(result[vary_index][1]))
    return result


def add_vary_cookie(vary: bytes) -> bytes:
    fields = [field.strip().lower() for field in vary.split(b",")]
    if b"cookie" in fields or b"*" in fields:
        return vary
    return vary + b", Cookie" if vary.strip() else b"Cookie"
