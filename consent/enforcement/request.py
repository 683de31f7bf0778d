"""The request side: what the middleware reads before the app runs, and what the app sees.

At most three passes, each linear: one over the request headers and one over the
cookies (``RequestReader.read``), and, only when a cookie must be hidden from the app,
one more that rebuilds the ``Cookie`` header without it (``strip_cookies``). A request
whose cookies may all pass reaches the app with its headers untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.types import Scope

from .cookies import WHITESPACE, cookie_pieces, join_cookie_headers
from .headers import as_bytes
from .verdicts import Verdict, Verdicts

COOKIE = b"cookie"
# A blank piece (``a=1;;b=2``) is no cookie: no bit, so it is never kept.
BLANK = Verdict(0)
SEC_GPC = b"sec-gpc"
ACCEPT_LANGUAGE = b"accept-language"


class RequestView:
    """What the middleware read from one request.

    ``present`` is the union of the verdict bits of the request's cookies (every
    verdict is one bit: a bit outside what is allowed means a cookie to hide), and
    ``token`` the value of the first cookie named like our consent cookie on this
    scheme (first occurrence wins, as frameworks read it). The other fields are the
    headers read: ``Cookie`` (several are joined), ``Sec-GPC: 1``, and, when the file
    trusts them or the banner needs it, the geo headers and ``Accept-Language``.
    """

    # Defaults on the class: a request sets only what it carries.
    cookie: bytes | None = None
    several_cookie_headers = False
    gpc = False
    country: bytes | None = None
    subdivision: bytes | None = None
    language: bytes | None = None
    present = 0
    token: bytes | None = None
    # The Cookie header's pieces within the bounds, and the verdict of each, in order.
    pieces: Sequence[bytes] = ()
    verdicts: Sequence[Verdict] = ()
    # The raw names (text before "=") no declaration matches, for the undeclared notes.
    undeclared_names: Sequence[bytes] = ()


class RequestReader:
    """Reads a ``RequestView``: one pass over the headers, one over the cookies."""

    def __init__(
        self,
        verdicts: Verdicts,
        *,
        gpc: bool,
        geo_header: bytes | None,
        subdivision_header: bytes | None,
        language: bool,
    ) -> None:
        self.verdicts = verdicts
        self.gpc_header = SEC_GPC if gpc else None
        self.geo_header = geo_header
        self.subdivision_header = subdivision_header
        self.language_header = ACCEPT_LANGUAGE if language else None
        # One set probe per header rules out the ones nobody asked for.
        self._wanted = frozenset(
            name
            for name in (
                COOKIE,
                self.gpc_header,
                geo_header,
                subdivision_header,
                self.language_header,
            )
            if name
        )

    def read(self, headers: Iterable[tuple[bytes, bytes]], own: Verdict) -> RequestView:
        """The view of a request whose consent cookie, on this scheme, has the verdict
        ``own`` (``Verdicts.own``: one object per scheme, so it is found by identity)."""
        view = RequestView()
        cookie_values: list[bytes] = []
        wanted = self._wanted
        for name, value in headers:
            try:
                if name not in wanted:  # ASGI servers give names as lower-case bytes
                    continue
            except TypeError:
                # An unhashable name (bytearray) that frameworks still decode: read as
                # bytes, so that a Cookie header under it is filtered, never skipped.
                name, value = as_bytes(name), as_bytes(value)
                if name not in wanted:
                    continue
            if name == COOKIE:
                cookie_values.append(value)
            elif name == self.gpc_header:
                view.gpc = value.strip() == b"1"  # only the value 1 means anything
            elif name == self.language_header:
                view.language = value
            elif name == self.geo_header:
                view.country = value
            else:
                view.subdivision = value
        if cookie_values:
            if len(cookie_values) == 1:
                view.cookie = cookie_values[0]
            else:
                # HTTP/2 may split cookies over several headers: joined once, in order.
                view.cookie = join_cookie_headers(cookie_values)
                view.several_cookie_headers = True
            self._scan(view, view.cookie, own)
        return view

    def _scan(self, view: RequestView, header: bytes, own: Verdict) -> None:
        """One pass over a ``Cookie`` header (rule 3: split on ``;``, partition on ``=``,
        no unquoting, bounded)."""
        verdicts = self.verdicts
        pieces, truncated = cookie_pieces(header)
        present = verdicts.bits.truncated if truncated else 0
        token = None
        known = verdicts.known
        undeclared = verdicts.undeclared
        seen: list[Verdict] = []
        undeclared_names: list[bytes] = []
        for piece in pieces:
            raw_name, equals, value = piece.partition(b"=")
            if equals:
                verdict = known.get(raw_name) or verdicts.learn(raw_name)
                if verdict is own:
                    if token is None:  # the first one counts
                        token = value.strip(WHITESPACE)
                elif verdict is undeclared:
                    undeclared_names.append(raw_name)
            elif piece.strip(WHITESPACE):
                verdict = verdicts.nameless  # no "=": a nameless cookie
            else:
                verdict = BLANK
            seen.append(verdict)
            present |= verdict.bit
        view.present = present
        view.token = token
        view.pieces = pieces
        view.verdicts = seen
        view.undeclared_names = undeclared_names


@dataclass(frozen=True, slots=True)
class StrippedCookies:
    """A ``Cookie`` header without the cookies that may not pass (``None`` when none
    may), and the ``Set-Cookie``s that delete those the policy declares."""

    header: bytes | None
    expirations: list[bytes]


def strip_cookies(view: RequestView, allowed: int) -> StrippedCookies:
    """Keep the cookies ``allowed`` lets pass, byte for byte and in order."""
    kept: list[bytes] = []
    expirations: list[bytes] = []
    for piece, verdict in zip(view.pieces, view.verdicts, strict=True):
        if verdict.bit & allowed:
            kept.append(piece.strip(WHITESPACE))
        else:
            for expiry in verdict.expiries:
                if expiry not in expirations:
                    expirations.append(expiry)
    return StrippedCookies(b"; ".join(kept) if kept else None, expirations)


def with_cookie_header(scope: Scope, header: bytes | None) -> dict[str, Any]:
    """A copy of ``scope`` whose only ``Cookie`` header is ``header`` (none if ``None``).

    A copy, as the ASGI specification asks of middleware that changes a scope: the
    server's own scope stays as it was.
    """
    headers = [pair for pair in scope["headers"] if pair[0] != COOKIE]
    if header is not None:
        headers.append((COOKIE, header))
    return {**scope, "headers": headers}
