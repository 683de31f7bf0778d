"""The middleware's loops over headers and cookies: the request headers it reads, the
request's ``Cookie`` header, and the response headers.

The cookie loops take their caches, and the callables that fill them on a miss, from
the middleware (``_request_bit``, ``_learn_keep``). The callables must not touch the
headers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from ..signals.csp import CONTENT_TYPE, CSP_HEADER
from .cookies import WHITESPACE, join_cookie_headers, within_bounds

_SET_COOKIE = b"set-cookie"
_VARY = b"vary"


def read_headers(headers: Iterable[Any], names: tuple[bytes | None, ...]) -> tuple[Any, ...]:
    """The value of each request header named in ``names`` (None where absent), and
    whether the first name came more than once.

    Names compare exactly (ASGI servers give them in lower case); None names nothing.
    The first name's values are joined with ``"; "`` (several ``Cookie`` headers, as
    HTTP/2 may send them); for the others the last one counts.
    """
    values: list[Any] = [None] * len(names)
    several = False
    for key, value in headers:
        # One C-level scan of a few names instead of a comparison per name in bytecode.
        if type(key) is bytes and key in names:
            slot = names.index(key)
            if slot == 0 and values[0] is not None:
                value = join_cookie_headers((values[0], value))
                several = True
            values[slot] = value
    return (*values, several)


def scan_cookies(header: bytes, context: tuple[Any, ...], own: int) -> tuple[int, bytes | None]:
    """The union of the verdict bits of ``header``'s cookies, and the value (stripped)
    of the first cookie whose bit is ``own``.

    ``context`` is what stays the same from request to request: ``(bits, learn,
    nameless, truncated, limit, max_bytes)``. ``bits`` maps the raw text before a
    piece's first ``=`` to its bit, and ``learn`` adds a missing one. A piece without
    ``=`` that is not blank adds ``nameless``. A header past ``max_bytes`` is cut after
    its last ``;`` within them, and one of more than ``limit`` pieces loses the rest
    (as cookies.cookie_pieces cuts them); either adds ``truncated``.
    """
    bits, learn, nameless, truncated, limit, max_bytes = context
    present = 0
    raw = None
    if len(header) > max_bytes:
        header = within_bounds(header, max_bytes)
        present = truncated
    pieces = header.split(b";", limit)
    if len(pieces) > limit:
        del pieces[limit:]
        present = truncated
    for piece in pieces:
        # partition, not find + slice: it is a single fast call (METH_O).
        raw_name, equals, value = piece.partition(b"=")
        if not equals:
            if raw_name.strip(WHITESPACE):  # parse_cookie_header skips blank pieces
                present |= nameless
            continue
        # Subscript, not .get: on a hit (nearly always) it is one specialised opcode,
        # and a try block costs nothing until it raises.
        try:
            bit = bits[raw_name]
        except KeyError:
            bit = learn(raw_name)
        # ``raw is None`` first: once ours is found, later cookies skip a test.
        if raw is None and bit == own:
            raw = value.strip(WHITESPACE)
        present |= bit
    return present, raw


def filter_headers(
    headers: Iterable[Any],
    keeps: dict[bytes, bool],
    learn: Callable[[dict[bytes, bool], bytes, int], bool],
    allowed: int,
    nameless: int,
    csp: bool,
) -> tuple[list[Any], int, bytes | None, tuple[bytes, ...], bool]:
    """Drop the ``Set-Cookie``s not allowed from ``headers``, in one pass.

    Returns the headers kept (the app's own objects, in order), where the app's
    ``Vary`` is among them (or -1), the last ``Content-Type`` and the app's own
    ``Content-Security-Policy`` values (looked for only with ``csp``), and whether the
    app sent any ``Set-Cookie``.

    ``keeps`` maps the raw text before a ``Set-Cookie``'s first ``=`` to whether it
    may leave under ``allowed``, and ``learn(keeps, value, allowed)`` decides (and
    caches) a missing one. A value without ``=`` is a nameless cookie (bit
    ``nameless``). Header names match in any ASCII case: ASGI asks for lower case, but
    an app may not obey.
    """
    result: list[Any] = []
    append = result.append
    vary_index = -1
    content_type: bytes | None = None
    app_policies: tuple[bytes, ...] = ()  # rare: no list per response
    seen = False
    for header in headers:
        key, value = header  # one unpack is cheaper than two subscripts
        # bytes.lower() keeps the length, so only a key of the right length can be
        # another case of a name; a lower-case one compares equal straight away.
        if key == _SET_COOKIE or (len(key) == 10 and key.lower() == _SET_COOKIE):
            seen = True
            raw_name, equals, _ = value.partition(b"=")
            try:
                if keeps[raw_name] if equals else nameless & allowed:
                    append(header)
            except KeyError:
                if learn(keeps, value, allowed):
                    append(header)
            continue
        if len(key) == 4 and key.lower() == _VARY:
            vary_index = len(result)
        elif csp:  # one test per other header without a CSP
            if len(key) == 12 and key.lower() == CONTENT_TYPE:
                content_type = value  # the last one, as a dict would keep
            elif len(key) == 23 and key.lower() == CSP_HEADER:
                app_policies += (value,)
        append(header)
    return result, vary_index, content_type, app_policies, seen


class Loops(NamedTuple):
    """The loops a middleware runs."""

    read_headers: Callable[..., tuple[Any, ...]]
    scan_cookies: Callable[..., tuple[int, bytes | None]]
    filter_headers: Callable[..., tuple[list[Any], int, bytes | None, tuple[bytes, ...], bool]]
    send_message: None


def implementation(mask_bits: int) -> Loops:
    """The loops a middleware whose masks take ``mask_bits`` bits should run."""
    return Loops(read_headers, scan_cookies, filter_headers, None)
