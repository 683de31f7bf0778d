"""The request side: what the middleware reads before the app runs, and what the app sees.

At most three passes, each linear: one over the request headers (``read_headers``),
one over the cookies (``scan_cookies``: what each one is, and our consent token), and,
only when a cookie must be hidden from the app, one more that rebuilds the ``Cookie``
header without it (``strip_cookies``). A request whose cookies may all pass reaches
the app with its headers untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.types import Scope

from .cookies import WHITESPACE, cookie_pieces, join_cookie_headers
from .verdicts import Verdicts

COOKIE = b"cookie"
SEC_GPC = b"sec-gpc"


class RequestHeaders:
    """The request headers the middleware reads: ``Cookie`` (several are joined),
    ``Sec-GPC`` and, when the file trusts them, the geo headers."""

    __slots__ = ("cookie", "country", "gpc", "several_cookie_headers", "subdivision")

    def __init__(self) -> None:
        self.cookie: bytes | None = None
        self.several_cookie_headers = False
        self.gpc = False  # Sec-GPC: 1 (only the value 1 means anything)
        self.country: bytes | None = None
        self.subdivision: bytes | None = None


class HeaderReader:
    """Reads ``RequestHeaders`` in one pass over a request's headers."""

    def __init__(
        self, *, gpc: bool, geo_header: bytes | None, subdivision_header: bytes | None
    ) -> None:
        self.gpc_header = SEC_GPC if gpc else None
        self.geo_header = geo_header
        self.subdivision_header = subdivision_header
        # One set probe per header rules out the ones nobody asked for.
        self._wanted = frozenset(
            name for name in (COOKIE, self.gpc_header, geo_header, subdivision_header) if name
        )

    def read(self, headers: Iterable[tuple[bytes, bytes]]) -> RequestHeaders:
        found = RequestHeaders()
        cookie_values: list[bytes] = []
        wanted = self._wanted
        for name, value in headers:
            # ASGI servers give names as lower-case bytes: anything else is not ours.
            if type(name) is not bytes or name not in wanted:
                continue
            if name == COOKIE:
                cookie_values.append(value)
            elif name == self.gpc_header:
                found.gpc = value.strip() == b"1"
            elif name == self.geo_header:
                found.country = value
            else:
                found.subdivision = value
        if len(cookie_values) == 1:
            found.cookie = cookie_values[0]
        elif cookie_values:
            # HTTP/2 may split cookies over several headers: joined once, in order.
            found.cookie = join_cookie_headers(cookie_values)
            found.several_cookie_headers = True
        return found


class RequestCookies:
    """What a request's cookies are: the union of their verdict bits, and the value of
    the first one named like our consent cookie on this scheme (first occurrence wins,
    as frameworks read it)."""

    __slots__ = ("present", "token")

    def __init__(self, present: int, token: bytes | None) -> None:
        self.present = present
        self.token = token


def scan_cookies(header: bytes, verdicts: Verdicts, own_bit: int) -> RequestCookies:
    """One pass over a ``Cookie`` header (rule 3: split on ``;``, partition on ``=``, no
    unquoting, bounded)."""
    pieces, truncated = cookie_pieces(header)
    bits = verdicts.bits
    present = bits.truncated if truncated else 0
    token = None
    known = verdicts.known
    for piece in pieces:
        raw_name, equals, value = piece.partition(b"=")
        if not equals:
            if piece.strip(WHITESPACE):  # a nameless cookie; blank pieces are nothing
                present |= bits.undeclared
            continue
        verdict = known.get(raw_name) or verdicts.learn(raw_name)
        if verdict.bit == own_bit and token is None:
            token = value.strip(WHITESPACE)
        present |= verdict.bit
    return RequestCookies(present, token)


@dataclass(frozen=True, slots=True)
class StrippedCookies:
    """A ``Cookie`` header without the cookies that may not pass (``None`` when none
    may), and the ``Set-Cookie``s that delete those the policy declares."""

    header: bytes | None
    expirations: list[bytes]


def strip_cookies(header: bytes, verdicts: Verdicts, allowed: int) -> StrippedCookies:
    """Keep the cookies ``allowed`` lets pass, byte for byte and in order."""
    kept: list[bytes] = []
    expirations: list[bytes] = []
    for piece in cookie_pieces(header)[0]:
        pair = piece.strip(WHITESPACE)
        if not pair:
            continue
        raw_name, equals, _ = piece.partition(b"=")
        verdict = verdicts.of(raw_name) if equals else verdicts.nameless
        if verdict.bit & allowed:
            kept.append(pair)
        elif verdict.expiry is not None and verdict.expiry not in expirations:
            expirations.append(verdict.expiry)
    return StrippedCookies(b"; ".join(kept) if kept else None, expirations)


def with_cookie_header(scope: Scope, header: bytes | None) -> dict[str, Any]:
    """A copy of ``scope`` whose only ``Cookie`` header is ``header`` (none if ``None``).

    A copy, as the ASGI specification asks of middleware that changes a scope: the
    server's own scope stays as it was.
    """
    headers = [(name, value) for name, value in scope["headers"] if name != COOKIE]
    if header is not None:
        headers.append((COOKIE, header))
    return {**scope, "headers": headers}
