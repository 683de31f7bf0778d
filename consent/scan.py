"""The middleware's loops over headers and cookies: the request headers it reads, the
request's ``Cookie`` header, and the response headers.

These functions are the specification. ``consent/_speedups.c`` implements the same
three functions in C, and a fourth, ``send_message``, whose specification is the
middleware's ``_plain_message`` and ``_csp_message``; tests/test_scan.py checks that
both versions give the same answers on generated input. The middleware uses the C ones
when the extension was built and the policy's masks fit in 64 bits (`implementation`).
Why C at all is in docs/performance.md: in the interpreter each cookie costs a
partition's tuple and two bytes objects, a hash of the fresh name and some twenty
bytecodes. In C it costs one bytes object for the name and one dictionary probe.

The cookie loops take their caches, and the callables that fill them on a miss, from
the middleware (``_request_bit``, ``_learn_keep``). The callables must not touch the
headers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from .cookies import WHITESPACE, join_cookie_headers, within_bounds
from .csp import CONTENT_TYPE, CSP_HEADER

_SET_COOKIE = b"set-cookie"
_VARY = b"vary"
# Set to 1 to run the Python functions even when the C ones are built (tests, bench).
PURE_PYTHON_ENV = "CONSENT_PURE_PYTHON"
# The C functions hold the masks in an unsigned 64-bit integer.
C_MASK_BITS = 64


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


# The signatures both versions share (consent/_speedups.pyi declares the C ones so).
ReadHeaders = Callable[[Iterable[Any], tuple[bytes | None, ...]], tuple[Any, ...]]
ScanCookies = Callable[[bytes, tuple[Any, ...], int], tuple[int, bytes | None]]
FilterHeaders = Callable[
    [
        Iterable[Any],
        dict[bytes, bool],
        Callable[[dict[bytes, bool], bytes, int], bool],
        int,
        int,
        bool,
    ],
    tuple[list[Any], int, bytes | None, tuple[bytes, ...], bool],
]
SendMessage = Callable[..., Any]  # context, send, allowed, expiries, nonce, message


def speedups() -> Any | None:
    """The C module, or None when it was not built or ``CONSENT_PURE_PYTHON=1``."""
    if os.environ.get(PURE_PYTHON_ENV, "") == "1":
        return None
    try:
        from . import _speedups
    except ImportError:
        return None
    return _speedups


@contextmanager
def pure_python() -> Iterator[None]:
    """Middlewares made inside run the Python loops, as without a C compiler (the bench's
    row, the differential tests); the environment is as it was afterwards."""
    previous = os.environ.get(PURE_PYTHON_ENV)
    os.environ[PURE_PYTHON_ENV] = "1"  # read once, when a middleware is made
    try:
        yield
    finally:
        if previous is None:
            del os.environ[PURE_PYTHON_ENV]
        else:
            os.environ[PURE_PYTHON_ENV] = previous


class Loops(NamedTuple):
    """The loops a middleware runs: the C ones, or these Python ones (``send_message``
    None: the middleware's own Python sends then wrap ``filter_headers``)."""

    read_headers: ReadHeaders
    scan_cookies: ScanCookies
    filter_headers: FilterHeaders
    send_message: SendMessage | None


def implementation(mask_bits: int) -> Loops:
    """The loops a middleware whose masks take ``mask_bits`` bits should run."""
    fast = speedups()
    if fast is None or mask_bits > C_MASK_BITS:
        return Loops(read_headers, scan_cookies, filter_headers, None)
    return Loops(fast.read_headers, fast.scan_cookies, fast.filter_headers, fast.send_message)
