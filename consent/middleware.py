"""``ConsentMiddleware``: the pure ASGI layer that enforces the policy.

Shaped like Starlette's ``SessionMiddleware``: all one-time work in ``__init__``, the
state of one request in locals of ``__call__`` and a wrapped ``send``. A request goes
through named steps:

On the way in (enforcement/request.py)
  1. read the headers that matter and the request's cookies, noting the undeclared ones
     (enforcement/undeclared.py);
  2. decide the ``Permit``: the visitor's choice from the consent cookie
     (enforcement/consent_cookie.py), under the regime of their region and their
     Global Privacy Control signal (signals/);
  3. answer the consent endpoints and the banner's own pages, or
  4. hide from the app the cookies it may not see, and call it.
On the way out (enforcement/response.py)
  5. drop the ``Set-Cookie``s not allowed (noting undeclared names, checking the scope of
     declared ones: enforcement/scopes.py), expire refused cookies in every scope they
     may carry, add the consent CSP and ``Vary: Cookie``;
  6. put the banner into an HTML page (banner/injection.py).

Only headers are touched: bodies stream through, except the chunk of a page that holds
its ``</body>``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from .banner import Banner
from .banner.injection import BANNER_KEY, PageInjection, is_page
from .banner.render import nonce_in_policies
from .endpoints import Endpoints
from .enforcement.consent_cookie import ConsentCookie
from .enforcement.permit import Permit
from .enforcement.request import (
    RequestReader,
    RequestView,
    strip_cookies,
    with_cookie_header,
)
from .enforcement.response import SET_COOKIE, START_MESSAGES, ResponseStart
from .enforcement.tokens import normalize_keys
from .enforcement.undeclared import Kind, UndeclaredNames
from .enforcement.verdicts import Verdicts
from .errors import ConfigError
from .policy.catalogue import load_catalogue
from .policy.catalogue import suggestion as catalogue_suggestion
from .policy.policy import Policy
from .records import build_recorder
from .signals.csp import NONCE_KEY, ContentSecurityPolicy
from .signals.gpc import WELL_KNOWN_PATH, WellKnownGpc
from .signals.regimes import Regimes

SECRET_KEYS_ENV = "CONSENT_SECRET_KEYS"  # noqa: S105 - a variable name, not a key
# Any ASGI callable: frameworks type their scope/receive/send differently (Litestar uses
# its own TypedDicts), and Starlette's ``ASGIApp`` would reject them under mypy.
AnyASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
_VARY_COOKIE = b"Cookie"
_VARY_PAGE = b"Cookie, Accept-Language"  # what the banner in a page depends on


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
        # What every cookie name means, and our own cookie (enforcement/).
        self.verdicts = Verdicts(policy)
        self.consent_cookie = ConsentCookie(policy, normalize_keys(secret_keys), self.verdicts)
        # What shapes a request's consent besides the visitor's choice (signals/). The
        # geo headers are read only when the file names them (trusted).
        self.regimes = Regimes(policy, self.verdicts)
        self.requests = RequestReader(
            self.verdicts,
            gpc=config.gpc,
            geo_header=self.regimes.header,
            subdivision_header=self.regimes.subdivision_header,
            language=config.banner.inject,  # the banner's language
        )
        # The undeclared names it sees, for `consent scan` (enforcement/undeclared.py),
        # each logged with the catalogue's guess: the catalogue is read here, once per
        # process (~0.1 s), not on the request that first meets such a name.
        load_catalogue()
        self.undeclared = UndeclaredNames(
            is_safe=policy.is_safe_cookie_name,
            suggest=catalogue_suggestion,
            file=Path(config.undeclared_notes) if config.undeclared_notes else None,
        )
        self.csp = ContentSecurityPolicy(policy) if config.csp.enabled else None
        self.well_known_gpc = WellKnownGpc(config) if config.gpc else None
        # What sits on top: proof of consent, the endpoints, the banner.
        self.records = build_recorder(config.records, policy)
        self.endpoints = Endpoints(
            policy,
            consent_cookie=self.consent_cookie,
            verdicts=self.verdicts,
            records=self.records,
            max_body_bytes=max_body_bytes,
        )
        self.banner = Banner(policy)
        self.inject = config.banner.inject
        # The paths the middleware answers itself; one startswith rules them all out.
        self.endpoint = config.endpoint
        self._endpoint_prefix = config.endpoint + "/"
        self._own_paths = (config.endpoint, WELL_KNOWN_PATH) if config.gpc else (config.endpoint,)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            if scope_type == "lifespan":
                if self.records is not None:
                    receive = self.records.lifespan_receive(receive)  # open/close the store
                if self.undeclared.file is not None:
                    receive = self._notes_at_shutdown(receive)
            await self.app(scope, receive, send)
            return

        # 1. What the request carries (over https, the consent cookie has its prefixed name).
        secure = self.consent_cookie.is_secure(scope)
        request = self.requests.read(scope["headers"], self.verdicts.own[secure])
        if request.undeclared_names:
            self._note_undeclared(request.undeclared_names, "request", scope)

        # 2. The consent that applies, where the app and the template helpers read it.
        permit = self._permit(request)
        scope_state = scope.get("state")
        if scope_state is None:
            scope["state"] = scope_state = {}
        scope_state["consent"] = permit.state
        scope_state[BANNER_KEY] = self.banner

        # 3. The middleware's own pages.
        if (
            scope_type == "http"
            and scope["path"].startswith(self._own_paths)
            and await self._own_page(scope, receive, send, permit, request)
        ):
            return

        # 4. The app sees only the cookies it could have set.
        expirations: list[bytes] = []
        if request.present & ~permit.allowed or request.several_cookie_headers:
            stripped = strip_cookies(request, permit.allowed)
            scope = with_cookie_header(scope, stripped.header)
            expirations = stripped.expirations
        nonce = None
        if self.csp is not None and scope_type == "http":
            nonce = scope_state[NONCE_KEY] = self.csp.next_nonce()  # request.state.csp_nonce
        language = request.language or b""  # the banner's, when it reads it
        guarded = self._guarded_send(scope, send, permit, expirations, nonce, language)
        await self.app(scope, receive, guarded)

    def _permit(self, request: RequestView) -> Permit:
        """The visitor's choice, under the regime of this request and its GPC signal."""
        regimes = self.regimes
        regime = regimes.default
        if request.country is not None:  # a geo header the file trusts
            regime = regimes.of(request.country, request.subdivision)
        if request.token:
            reading = self.consent_cookie.read(request.token)
            if reading.permit is not None:
                if regime is regimes.default:
                    return reading.permit
                return regime.current(reading, reading.permit)
            if reading.consent_id is not None:  # valid but outdated: ask again
                return regime.outdated(reading, request.gpc)
        return regime.first_visit(request.gpc)

    async def _own_page(
        self, scope: Scope, receive: Receive, send: Send, permit: Permit, request: RequestView
    ) -> bool:
        """Answer the consent endpoints, the banner's assets and preferences page, and
        ``/.well-known/gpc.json``; False when the path is none of them."""
        path: str = scope["path"]
        if path == WELL_KNOWN_PATH and self.well_known_gpc is not None:
            await self.well_known_gpc(scope, receive, send)
            return True
        if path != self.endpoint and not path.startswith(self._endpoint_prefix):
            return False
        page = self.banner.route(scope, permit.state)
        if page is not None:
            await page(scope, receive, send)
        else:
            await self.endpoints.handle(scope, receive, send, permit.state, request)
        return True

    def _guarded_send(
        self,
        scope: Scope,
        send: Send,
        permit: Permit,
        expirations: list[bytes],
        nonce: str | None,
        language: bytes,
    ) -> Send:
        """The ``send`` the app gets: steps 5 and 6 on the response start."""
        verdicts = self.verdicts
        csp = self.csp
        may_be_page = self.inject and scope["type"] == "http" and scope["method"] != "HEAD"
        injection: PageInjection | None = None

        async def send_wrapper(message: Message) -> None:
            nonlocal injection
            if injection is not None:  # a page the banner goes into
                for outgoing in injection.messages(message):
                    await send(outgoing)
                return
            headers = message.get("headers")
            if message["type"] not in START_MESSAGES or (headers is None and not expirations):
                await send(message)  # no header to filter, none to add
                return
            # 5. Cookies, the CSP and Vary.
            start = ResponseStart.filtered(headers or (), verdicts, permit.allowed)
            if start.undeclared:
                self._note_undeclared(start.undeclared, "response", scope)
            for expiry in expirations:
                start.append(SET_COOKIE, expiry)
            depends_on_cookie = start.set_cookie or bool(expirations)
            if csp is not None and message["type"] == "http.response.start":
                # The policy follows the consent cookie too.
                depends_on_cookie |= self._add_csp(csp, start, permit.allowed, nonce)
            message["headers"] = start.headers
            # 6. The banner.
            if may_be_page and is_page(
                message.get("status", 200), start.content_type, start.encoded, start.attachment
            ):
                injection = self._page_injection(scope, permit, nonce, language, message, start)
                if injection is not None:
                    return  # the start leaves with the first body message
            if depends_on_cookie:
                start.vary_on(_VARY_COOKIE)
            await send(message)

        return send_wrapper

    def _note_undeclared(self, raw_names: Sequence[bytes], kind: Kind, scope: Scope) -> None:
        """Note undeclared names; the file is written off the event loop when due."""
        notes = self.undeclared
        if notes.saw(raw_names, kind, scope.get("path", "")):
            snapshot = notes.take_snapshot()  # here: the tables change on this loop
            loop = asyncio.get_running_loop()
            notes.writing = loop.run_in_executor(None, notes.write, snapshot)

    def _notes_at_shutdown(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await asyncio.to_thread(self.undeclared.write, self.undeclared.take_snapshot())
            return message

        return wrapped

    @staticmethod
    def _add_csp(
        csp: ContentSecurityPolicy, start: ResponseStart, allowed: int, nonce: str | None
    ) -> bool:
        """Add the consent CSP to a response that runs scripts; whether it was added."""
        if start.content_type is None:
            return False
        nonce_bytes = None if nonce is None else nonce.encode()
        value = csp.header_value(start.content_type, allowed, nonce_bytes, start.app_policies)
        if value is None:
            return False
        start.append(csp.header_name, value)
        return True

    def _page_injection(
        self,
        scope: Scope,
        permit: Permit,
        nonce: str | None,
        language: bytes,
        message: Message,
        start: ResponseStart,
    ) -> PageInjection | None:
        """How the banner goes into this HTML page (``PageInjection.messages`` turns the
        app's messages into the page's), or None when nothing goes into it.

        A page varies on the cookie and the language (the banner's markup does), whether
        or not it ends up carrying the banner.
        """
        start.vary_on(_VARY_PAGE)
        page_nonce = nonce_in_policies(start.app_policies) if start.app_policies else nonce
        payloads = self.banner.page_payloads(scope, permit.state, page_nonce or nonce, language)
        if not payloads.head and not payloads.body:
            return None
        return PageInjection(payloads, message, start)
