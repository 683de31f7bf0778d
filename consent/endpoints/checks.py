"""Checks on what a request to the endpoints may do: where it came from (rule 7) and where
it may send the visitor back to (rule 8)."""

from __future__ import annotations

from collections.abc import Collection

from starlette.types import Scope

from ..enforcement.headers import request_header
from ..errors import RequestError

MAX_NEXT_LENGTH = 2048


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
    """The origin this request was sent to, from its ``Host`` header."""
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


def check_origin(scope: Scope, trusted_origins: Collection[str]) -> None:
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
    if text == own_origin(scope) or text in trusted_origins:
        return
    raise RequestError(403, f"origin {text!r} may not change consent here")
