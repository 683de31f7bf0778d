"""The consent endpoints: read the state, grant or refuse, withdraw.

Every refusal of a request is a ``RequestError`` turned into a 4xx JSON answer
that names the problem; nothing is granted unless the whole request was valid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from ..enforcement.headers import VARY_COOKIE, request_header
from ..enforcement.tokens import new_consent_id
from ..errors import RequestError
from ..policy.state import ConsentState
from ..records import StoreUnavailable, receipt_url
from ..records.receipt import receipt_response

if TYPE_CHECKING:
    from ..middleware import ConsentMiddleware

MAX_NEXT_LENGTH = 2048
MAX_FORM_FIELDS = 100
# "opt_out" is "Do not sell or share" (docs/regimes.md): the current grants minus the
# opt_out categories.
Action = Literal["accept_all", "reject_all", "save", "opt_out"]
Source = Literal["json", "form", "delete", "banner"]
_ACTIONS: dict[str, Action] = {action: action for action in get_args(Action)}
_ACTION_LIST = ", ".join(_ACTIONS)


class _JsonChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action | None = None
    granted: list[str] | None = None
    source: Literal["json", "banner"] = "json"  # the banner's script says it is the banner


@dataclass(frozen=True, slots=True)
class Choice:
    """A visitor's valid choice, before it is applied."""

    action: Action
    granted: frozenset[str]
    source: Source
    next_path: str = "/"


def safe_next(value: str | None) -> str:
    """Rule 8: only a same-site relative path, else ``/``."""
    if (
        not value
        or len(value) > MAX_NEXT_LENGTH
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(not (0x21 <= ord(c) <= 0x7E) for c in value)
    ):
        return "/"
    return value


def _default_port(scheme: str) -> str:
    return ":443" if scheme in ("https", "wss") else ":80"


def own_origin(scope: Scope) -> str | None:
    host = request_header(scope, b"host")
    if host is None:
        return None
    scheme = scope.get("scheme", "http")
    text = host.decode("latin-1").strip().lower()
    text = text.removesuffix(_default_port(scheme))
    return f"{scheme}://{text}"


def _normalize_origin(origin: str) -> str:
    origin = origin.strip().lower()
    scheme = origin.partition("://")[0]
    return origin.removesuffix(_default_port(scheme))


class Endpoints:
    """Serves ``GET``/``POST``/``DELETE`` on the policy's ``endpoint``."""

    def __init__(self, middleware: ConsentMiddleware, *, max_body_bytes: int) -> None:
        self.middleware = middleware
        self.policy = middleware.policy
        self.max_body_bytes = max_body_bytes
        self.trusted_origins = frozenset(self.policy.config.trusted_origins)
        self.receipt_path = receipt_url(self.policy)
        self._categories = [
            {"name": name, "title": category.title, "required": category.required}
            for name, category in self.policy.categories.items()
        ]
        self._opt_out = {
            "text": self.policy.config.opt_out.text,
            "action": "opt_out",
            "categories": [
                name
                for name in self.policy.category_names
                if name in self.policy.opt_out_categories
            ],
        }

    def state_json(self, state: ConsentState) -> dict[str, Any]:
        return {
            "decided": state.decided,
            "granted": [name for name in self.policy.category_names if name in state.granted],
            "revision": state.revision,
            "consent_id": state.consent_id,
            "gpc": state.gpc,
            "mode": state.mode,
            "region": state.region,
            "opt_out": self._opt_out,
            "categories": self._categories,
        }

    async def handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        state: ConsentState,
        pairs: list[tuple[bytes, bytes]],
        secure: bool,
    ) -> None:
        try:
            response = await self._dispatch(scope, receive, state, pairs, secure)
        except RequestError as error:
            response = JSONResponse(
                {"error": error.message},
                status_code=error.status,
                headers={"cache-control": "no-store"},
            )
            if error.status == 405:
                response.headers["allow"] = error.allow or "GET, HEAD, POST, DELETE"
        await response(scope, receive, send)

    async def _dispatch(
        self,
        scope: Scope,
        receive: Receive,
        state: ConsentState,
        pairs: list[tuple[bytes, bytes]],
        secure: bool,
    ) -> Response:
        if scope["path"] == self.receipt_path:
            return await receipt_response(self.middleware.records, scope["method"], state)
        if scope["path"] != self.policy.config.endpoint:
            page = self.middleware.banner.route(scope, state)  # static assets, no-JS centre
            if page is not None:
                return page
            raise RequestError(404, f"no consent endpoint at {scope['path']!r}")
        method = scope["method"]
        if method in ("GET", "HEAD"):
            return self._json(state)
        if method not in ("POST", "DELETE"):
            raise RequestError(405, f"method {method} is not allowed here")
        self._check_origin(scope)
        if method == "DELETE":
            choice = Choice("reject_all", frozenset(), "delete")
        else:
            choice = await self._read_choice(scope, receive)
        new_state = self.apply(choice, state)
        middleware = self.middleware
        if middleware.records is not None:
            # Proof first: a new grant takes effect only once its record is committed.
            try:
                await middleware.records.record(scope, state, new_state, choice.source)
            except StoreUnavailable:
                raise RequestError(
                    503, "consent cannot be recorded just now, so nothing was granted; try again"
                ) from None
        cookies = [middleware.consent_cookie(new_state, secure=secure)]
        cookies += middleware.expirations(pairs, middleware.allowed_mask(new_state))
        response: Response
        if choice.source == "form":
            response = RedirectResponse(choice.next_path, status_code=303)
            response.headers["cache-control"] = "no-store"
        else:
            response = self._json(new_state)
        response.raw_headers.extend((b"set-cookie", cookie) for cookie in cookies)
        response.raw_headers.append(VARY_COOKIE)
        return response

    def _json(self, state: ConsentState) -> Response:
        return JSONResponse(self.state_json(state), headers={"cache-control": "no-store"})

    def apply(self, choice: Choice, state: ConsentState) -> ConsentState:
        policy = self.policy
        if choice.action == "accept_all":
            mask = policy.all_mask
        elif choice.action == "reject_all":
            mask = 0
        elif choice.action == "opt_out":
            mask = policy.mask_of(state.granted) & ~policy.opt_out_mask
        else:
            mask = policy.mask_of(choice.granted)
        # Keep the visitor's pseudonymous id across changes so their history links up.
        consent_id = state.consent_id or new_consent_id()
        return policy.decided(
            mask,
            consent_id=consent_id,
            issued_at=self.middleware.signer.now(),
            mode=state.mode,  # the regime and region of this request (signals/regimes.py)
            region=state.region,
        )

    # -- request checks -------------------------------------------------------

    def _check_origin(self, scope: Scope) -> None:
        """Rule 7: refuse cross-site writes; clients that send neither header may pass."""
        site = request_header(scope, b"sec-fetch-site")
        if site is not None:
            site_text = site.strip().lower()
            if site_text in (b"same-origin", b"none"):
                return
            if site_text == b"cross-site":
                raise RequestError(403, "cross-site requests may not change consent")
        origin = request_header(scope, b"origin")
        if origin is None:
            if site is not None:
                raise RequestError(403, "a same-site request must carry an Origin header")
            return
        text = _normalize_origin(origin.decode("latin-1"))
        if text == own_origin(scope) or text in self.trusted_origins:
            return
        raise RequestError(403, f"origin {text!r} may not change consent here")

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        length = request_header(scope, b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                raise RequestError(400, "Content-Length is not a number")
            if int(length) > self.max_body_bytes:
                raise RequestError(413, f"the body is larger than {self.max_body_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestError(400, "the client disconnected before sending the body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise RequestError(413, f"the body is larger than {self.max_body_bytes} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _read_choice(self, scope: Scope, receive: Receive) -> Choice:
        content_type = (
            (request_header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
        )
        if content_type == b"application/json":
            return self._json_choice(await self._read_body(scope, receive))
        if content_type == b"application/x-www-form-urlencoded":
            return self._form_choice(await self._read_body(scope, receive))
        shown = content_type.decode("latin-1") or "none"
        raise RequestError(
            415,
            f"unsupported content type {shown!r}; send application/json or "
            "application/x-www-form-urlencoded",
        )

    def _json_choice(self, body: bytes) -> Choice:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise RequestError(400, f"the body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RequestError(422, "the JSON body must be an object")
        try:
            parsed = _JsonChoice.model_validate(data)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in error["loc"]) or "body"
            raise RequestError(422, f"{where}: {error['msg']}") from None
        return self._choice(parsed.action, parsed.granted, parsed.source)

    def _form_choice(self, body: bytes) -> Choice:
        try:
            fields = parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                max_num_fields=MAX_FORM_FIELDS,
                strict_parsing=False,
            )
        except UnicodeDecodeError:
            raise RequestError(400, "the form body is not valid UTF-8") from None
        except ValueError:
            raise RequestError(413, f"the form has more than {MAX_FORM_FIELDS} fields") from None
        action: str | None = None
        granted: list[str] = []
        next_value: str | None = None
        for key, value in fields:
            if key == "action":
                action = value
            elif key == "granted":
                granted.append(value)
            elif key == "next":
                next_value = value
        if action is None and not granted:
            raise RequestError(400, f"missing 'action' ({_ACTION_LIST})")
        known = _ACTIONS.get(action if action is not None else "save")
        if known is None:
            raise RequestError(
                422, f"unknown action {action!r}; use accept_all, reject_all, save or opt_out"
            )
        # One form often holds the boxes and all three buttons (it must work with JS
        # off): the button pressed decides, whatever boxes were ticked.
        boxes = granted if known == "save" else None
        return self._choice(known, boxes, "form", next_path=safe_next(next_value))

    def _choice(
        self, action: Action | None, granted: list[str] | None, source: Source, next_path: str = "/"
    ) -> Choice:
        if action is None and granted is None:
            raise RequestError(422, "send either 'action' or 'granted'")
        if action in ("accept_all", "reject_all", "opt_out") and granted is not None:
            raise RequestError(422, f"'granted' cannot be combined with action {action!r}")
        unknown = self.policy.unknown_categories(granted or ())
        if unknown:
            known = ", ".join(self.policy.category_names)
            raise RequestError(422, f"unknown category {unknown[0]!r}; the categories are: {known}")
        return Choice(action or "save", frozenset(granted or ()), source, next_path)
