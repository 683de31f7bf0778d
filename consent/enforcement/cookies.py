"""Byte-level cookie parsing and the one function that builds every ``Set-Cookie``.

Parsing follows rules 2 and 3 of the design: never ``SimpleCookie`` (it drops the
rest of a header after one odd cookie) and never ``http.cookies._unquote``
(quadratic). Every function here is linear in its input and never raises on
what a client or an app may send.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_REQUEST_COOKIES = 200
MAX_COOKIE_HEADER_BYTES = 16 * 1024
EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"
# Everything Python's str.strip() removes from a latin-1 decoded header. Frameworks
# (Starlette's cookie_parser among them) strip names that way, so "\xa0_fbp" would
# reach the app as "_fbp": we classify names exactly as the app will read them.
WHITESPACE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0"
# RFC 6265 token: a name with '=', ',', spaces or quotes would name another cookie.
_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f;]")


def consent_cookie_names(name: str, domain: str | None) -> tuple[str, str]:
    """The consent cookie's plain name and its name over https.

    Over https the name carries a prefix that browsers enforce: ``__Host-`` (Secure,
    Path=/, no Domain: no sub-domain can plant it) or, when the file sets a domain,
    ``__Secure-``.
    """
    return name, ("__Secure-" if domain else "__Host-") + name


def name_before_equals(raw: bytes) -> bytes:
    """The name that a cookie's text before its first ``=`` stands for.

    Stripped as frameworks strip it. A ``;`` in that text means the ``=`` came after the
    pair ended: a nameless ``Set-Cookie`` (a request piece never holds one).
    """
    return b"" if b";" in raw else raw.strip(WHITESPACE)


def within_bounds(header: bytes, size: int = MAX_COOKIE_HEADER_BYTES) -> bytes:
    """A ``Cookie`` header cut to ``size`` bytes, after its last whole piece."""
    # A cut piece would be a different cookie: drop it (rfind gives -1 without any).
    header = header[:size]
    return header[: header.rfind(b";") + 1]


def cookie_pieces(header: bytes) -> tuple[list[bytes], bool]:
    """The raw ``;``-separated pieces of a request ``Cookie`` header within the bounds,
    and whether anything past the bounds was dropped.

    Everything that reads a request's cookies goes through here (enforcement/request.py),
    so that all of it sees exactly the same cookies. A piece may be blank or lack ``=``;
    its name is ``name_before_equals`` of the text before its first ``=``.
    """
    truncated = len(header) > MAX_COOKIE_HEADER_BYTES
    if truncated:
        header = within_bounds(header)
    pieces = header.split(b";", MAX_REQUEST_COOKIES)
    if len(pieces) > MAX_REQUEST_COOKIES:
        del pieces[MAX_REQUEST_COOKIES:]
        truncated = True
    return pieces, truncated


def join_cookie_headers(values: Iterable[bytes]) -> bytes:
    """HTTP/2 and some clients send several ``Cookie`` headers: join them with ``; ``,
    all at once (joining them one by one as they come would be quadratic)."""
    return b"; ".join(values)


def build_set_cookie(
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    path: str = "/",
    domain: str | None = None,
    secure: bool = False,
    http_only: bool = False,
    same_site: str | None = None,
    partitioned: bool = False,
    expires: str | None = None,
) -> bytes:
    """Build one ``Set-Cookie`` value. All inputs were validated at load time (rule 9);
    the check here keeps a header from ever being split by a stray CR, LF or ``;``."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"cookie name is not an RFC 6265 token: {name!r}")
    for label, text in (("value", value), ("path", path), ("domain", domain)):
        if text is not None and _CONTROL.search(text):
            raise ValueError(f"cookie {label} contains a forbidden character: {text!r}")
    parts = [f"{name}={value}", f"Path={path}"]
    if domain:
        parts.append(f"Domain={domain}")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if expires is not None:
        parts.append(f"Expires={expires}")
    if secure or partitioned or name.startswith(("__Secure-", "__Host-")):
        parts.append("Secure")
    if http_only:
        parts.append("HttpOnly")
    if same_site:
        parts.append(f"SameSite={same_site}")
    if partitioned:
        parts.append("Partitioned")
    return "; ".join(parts).encode("latin-1")


def expire_cookie(
    name: str, *, path: str = "/", domain: str | None = None, partitioned: bool = False
) -> bytes:
    """A ``Set-Cookie`` that deletes ``name`` as it was set (rule 4)."""
    return build_set_cookie(
        name,
        "",
        max_age=0,
        expires=EPOCH,
        path=path,
        domain=domain,
        partitioned=partitioned,
    )
