"""A visitor's choice as the endpoints receive it: a JSON body, a plain HTML form, or a
``DELETE``. Reading it never grants anything: a choice that is not entirely valid is a
``RequestError`` naming the problem."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.types import Receive, Scope

from ..enforcement.headers import request_header
from ..errors import RequestError
from ..policy.policy import Policy
from .checks import safe_next

MAX_FORM_FIELDS = 100
# "opt_out" is "Do not sell or share" (docs/regimes.md): the current grants minus the
# opt_out categories.
Action = Literal["accept_all", "reject_all", "save", "opt_out"]
Source = Literal["json", "form", "delete", "banner"]
_ACTIONS: dict[str, Action] = {action: action for action in get_args(Action)}
_ACTION_LIST = ", ".join(_ACTIONS)
_HOW_TO_SEND = (
    "send the choice as JSON (Content-Type: application/json, "
    '{"action": "accept_all"}) or as a form (Content-Type: '
    "application/x-www-form-urlencoded, action=accept_all)"
)


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


WITHDRAWAL = Choice("reject_all", frozenset(), "delete")


class ChoiceReader:
    """Reads the choice of a ``POST`` to the endpoint, within ``max_body_bytes``."""

    def __init__(self, policy: Policy, *, max_body_bytes: int) -> None:
        self.policy = policy
        self.max_body_bytes = max_body_bytes

    async def read(self, scope: Scope, receive: Receive) -> Choice:
        content_type = (
            (request_header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
        )
        if content_type == b"application/json":
            return self._json_choice(await self._read_body(scope, receive))
        if content_type == b"application/x-www-form-urlencoded":
            return self._form_choice(await self._read_body(scope, receive))
        if not content_type:
            raise RequestError(415, f"no Content-Type header was sent; {_HOW_TO_SEND}")
        shown = content_type.decode("latin-1")
        raise RequestError(415, f"unsupported content type {shown!r}; {_HOW_TO_SEND}")

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
            if body.lstrip()[:1] in (b"{", b"["):
                # curl -d and many HTTP clients send form data unless told otherwise.
                raise RequestError(
                    400,
                    "the body was read as a form (Content-Type: "
                    "application/x-www-form-urlencoded) but looks like JSON; send JSON with "
                    "Content-Type: application/json (curl -H 'Content-Type: "
                    'application/json\' -d \'{"action": "accept_all"}\')',
                )
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
