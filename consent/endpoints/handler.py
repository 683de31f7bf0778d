"""The consent endpoints: read the state, grant or refuse, withdraw, read one's receipt.

Every refusal of a request is a ``RequestError`` turned into a 4xx JSON answer that
names the problem; nothing is granted unless the whole request was valid, and a grant
takes effect only once its record is committed (records/).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from ..enforcement.consent_cookie import ConsentCookie
from ..enforcement.headers import VARY_COOKIE
from ..enforcement.request import RequestView, strip_cookies
from ..enforcement.tokens import new_consent_id
from ..enforcement.verdicts import Verdicts
from ..errors import RequestError
from ..policy.policy import Policy
from ..policy.state import ConsentState
from ..records import RECEIPT_PATH, Recorder, StoreUnavailable
from ..records.receipt import receipt_response
from .checks import check_origin
from .choice import WITHDRAWAL, Choice, ChoiceReader


class Endpoints:
    """Serves ``GET``/``POST``/``DELETE`` on the policy's ``endpoint`` and ``GET`` on its
    receipt."""

    def __init__(
        self,
        policy: Policy,
        *,
        consent_cookie: ConsentCookie,
        verdicts: Verdicts,
        records: Recorder | None,
        max_body_bytes: int,
    ) -> None:
        self.policy = policy
        self.consent_cookie = consent_cookie
        self.verdicts = verdicts
        self.records = records
        self.choices = ChoiceReader(policy, max_body_bytes=max_body_bytes)
        self.path = policy.config.endpoint
        self.receipt_path = self.path + RECEIPT_PATH
        self.trusted_origins = frozenset(policy.config.trusted_origins)
        self._categories = [
            {"name": name, "title": category.title, "required": category.required}
            for name, category in policy.categories.items()
        ]
        self._opt_out = {
            "text": policy.config.opt_out.text,
            "action": "opt_out",
            "categories": [
                name for name in policy.category_names if name in policy.opt_out_categories
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
        request: RequestView,
    ) -> None:
        """Answer a request under the endpoint; ``request`` is what the middleware read of
        it (the cookies a new choice refuses expire in the same response)."""
        try:
            response = await self._dispatch(scope, receive, state, request)
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
        self, scope: Scope, receive: Receive, state: ConsentState, request: RequestView
    ) -> Response:
        path = scope["path"]
        if path == self.receipt_path:
            return await receipt_response(self.records, scope["method"], state)
        if path != self.path:
            raise RequestError(404, f"no consent endpoint at {path!r}")
        method = scope["method"]
        if method in ("GET", "HEAD"):
            return self._json(state)
        if method not in ("POST", "DELETE"):
            raise RequestError(405, f"method {method} is not allowed here")
        check_origin(scope, self.trusted_origins)
        choice = WITHDRAWAL if method == "DELETE" else await self.choices.read(scope, receive)
        new_state = self.apply(choice, state)
        if self.records is not None:
            # Proof first: a new grant takes effect only once its record is committed.
            try:
                await self.records.record(scope, state, new_state, choice.source)
            except StoreUnavailable:
                raise RequestError(
                    503, "consent cannot be recorded just now, so nothing was granted; try again"
                ) from None
        secure = self.consent_cookie.is_secure(scope)
        cookies = [self.consent_cookie.write(new_state, secure=secure)]
        allowed = self.verdicts.allowed(self.policy.mask_of(new_state.granted))
        cookies += strip_cookies(request, allowed).expirations
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
            issued_at=self.consent_cookie.now(),
            mode=state.mode,  # the regime and region of this request (signals/regimes.py)
            region=state.region,
        )
