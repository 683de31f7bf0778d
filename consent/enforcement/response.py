"""The response side: which ``Set-Cookie``s leave, and what the page is.

``ResponseStart.filtered`` makes one pass over the headers the app sent: it drops every
``Set-Cookie`` whose name is not allowed and notes, on the way, what the banner and the
CSP need to know (``Content-Type``, ``Content-Length``, ``Content-Encoding``,
``Content-Disposition``, the app's own ``Content-Security-Policy``) and where the app's
``Vary`` is. The steps after it (expirations, the CSP, ``Vary``, the banner's length)
only append or replace single headers.

Header names are matched in any case and any type an app may send (``bytes``, ``str``,
``bytearray``, ``memoryview``): ASGI asks for lower-case bytes, but a ``Set-Cookie``
that slipped through under another spelling would reach the browser (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .headers import as_bytes
from .verdicts import Verdicts

SET_COOKIE = b"set-cookie"
VARY = b"vary"
CONTENT_TYPE = b"content-type"
CONTENT_LENGTH = b"content-length"
CONTENT_ENCODING = b"content-encoding"
CONTENT_DISPOSITION = b"content-disposition"
CSP_HEADER = b"content-security-policy"
_NOTED = frozenset(
    (
        SET_COOKIE,
        VARY,
        CONTENT_TYPE,
        CONTENT_LENGTH,
        CONTENT_ENCODING,
        CONTENT_DISPOSITION,
        CSP_HEADER,
    )
)
# Messages that carry response headers; a refused websocket handshake (the
# websocket.http.response extension) sets cookies as well as an accepted one.
START_MESSAGES = frozenset(
    ("http.response.start", "websocket.accept", "websocket.http.response.start")
)


def noted_name(name: Any) -> bytes | None:
    """The lower-case bytes of a header name the filter notes, whatever its case and type
    (``str``, ``bytearray``, ``memoryview``); None for any other header."""
    if type(name) is not bytes:
        name = as_bytes(name)
    name = name.lower()
    return name if name in _NOTED else None


class ResponseStart:
    """The headers of a response start as they will leave, and what they say.

    ``headers`` holds the app's own header objects, in order, without the refused
    ``Set-Cookie``s. The other fields are what the pass noted; their defaults sit on
    the class, so that a response sets only what it carries.
    """

    set_cookie = False  # the app sent a Set-Cookie (allowed or not)
    vary_index = -1
    content_type: bytes | None = None  # the last one, as a dict would keep
    content_length_index = -1
    encoded = False  # a Content-Encoding other than identity
    attachment = False  # Content-Disposition: attachment
    app_policies: tuple[bytes, ...] = ()  # the app's own CSP values
    undeclared: tuple[bytes, ...] = ()  # raw names of Set-Cookies no declaration matches

    def __init__(self, headers: list[Any]) -> None:
        self.headers = headers

    @classmethod
    def filtered(cls, headers: Iterable[Any], verdicts: Verdicts, allowed: int) -> ResponseStart:
        """The app's ``headers`` without the ``Set-Cookie``s that ``allowed`` refuses."""
        kept: list[Any] = []
        start = cls(kept)
        known = verdicts.known
        undeclared = verdicts.undeclared
        for header in headers:
            name, value = header
            try:
                noted = name in _NOTED  # lower-case bytes, as ASGI asks: one set probe
            except TypeError:  # an unhashable name (bytearray)
                noted = False
            if not noted:
                name = noted_name(name)
                if name is None:
                    kept.append(header)
                    continue
            if type(value) is not bytes:
                value = as_bytes(value)
            if name == SET_COOKIE:
                start.set_cookie = True
                raw_name, equals, _ = value.partition(b"=")
                if equals:
                    verdict = known.get(raw_name) or verdicts.learn(raw_name)
                    if verdict is undeclared:
                        start.undeclared += (raw_name,)  # rare: no list per response
                else:
                    verdict = verdicts.nameless  # no "=" at all: no declaration names it
                if verdict.bit & allowed:
                    kept.append(header)
                    # Declared and on its way to the browser: set where the file says, so
                    # that a withdrawal can delete it? (A refused one never lands.)
                    if verdict.scope is not None:
                        verdicts.scope_warnings.check(verdict.scope, value)
                continue
            if name == CONTENT_TYPE:
                start.content_type = value
            elif name == CONTENT_LENGTH:
                start.content_length_index = len(kept)
            elif name == VARY:
                start.vary_index = len(kept)
            elif name == CONTENT_ENCODING:
                start.encoded = value.strip().lower() not in (b"", b"identity")
            elif name == CONTENT_DISPOSITION:
                start.attachment = value.strip().lower().startswith(b"attachment")
            else:
                start.app_policies += (value,)  # rare: no list per response
            kept.append(header)
        return start

    def append(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def vary_on(self, fields: bytes) -> None:
        """Make ``Vary`` name ``fields`` (``b"Cookie"`` or ``b"Cookie, Accept-Language"``)."""
        if self.vary_index < 0:
            self.vary_index = len(self.headers)
            self.headers.append((VARY, fields))
        else:
            name, value = self.headers[self.vary_index]
            self.headers[self.vary_index] = (name, merge_vary(as_bytes(value), fields))

    def grow_content_length(self, added: int) -> None:
        """Add ``added`` bytes to a ``Content-Length`` (a page the banner goes into)."""
        if self.content_length_index >= 0:
            name, value = self.headers[self.content_length_index]
            if type(value) is not bytes:
                value = as_bytes(value)
            if value.strip().isdigit():
                self.headers[self.content_length_index] = (name, b"%d" % (int(value) + added))


_VARY_CACHE_SIZE = 64
_merged: dict[tuple[bytes, bytes], bytes] = {}


def merge_vary(value: bytes, fields: bytes) -> bytes:
    """An app's ``Vary`` value that also names each of ``fields`` (unchanged when it
    already does, or is ``*``). An app sends few distinct values: each is merged once."""
    merged = _merged.get((value, fields))
    if merged is None:
        present = {field.strip().lower() for field in value.split(b",")}
        missing = [f.strip() for f in fields.split(b",") if f.strip().lower() not in present]
        if b"*" in present or not missing:
            merged = value
        else:
            merged = b", ".join([value.strip(), *missing] if value.strip() else missing)
        if len(_merged) < _VARY_CACHE_SIZE:
            _merged[(value, fields)] = merged
    return merged
