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


def as_bytes(text: Any) -> bytes:
    """A header name or value the app sent as ``str`` or any bytes-like object, as bytes.

    Anything else is refused: a header that cannot be read cannot be filtered.
    """
    if isinstance(text, str):
        return text.encode("latin-1", "replace")
    try:
        return bytes(memoryview(text))
    except TypeError:
        raise TypeError(f"a response header must be bytes or str, not {text!r}") from None


class ResponseStart:
    """The headers of a response start as they will leave, and what they say."""

    __slots__ = (
        "app_policies",
        "attachment",
        "content_length_index",
        "content_type",
        "encoded",
        "headers",
        "set_cookie",
        "vary_index",
    )

    def __init__(self) -> None:
        self.headers: list[Any] = []  # the app's own header objects, in order
        self.set_cookie = False  # the app sent a Set-Cookie (allowed or not)
        self.vary_index = -1
        self.content_type: bytes | None = None  # the last one, as a dict would keep
        self.content_length_index = -1
        self.encoded = False  # a Content-Encoding other than identity
        self.attachment = False  # Content-Disposition: attachment
        self.app_policies: tuple[bytes, ...] = ()  # the app's own CSP values

    @classmethod
    def filtered(cls, headers: Iterable[Any], verdicts: Verdicts, allowed: int) -> ResponseStart:
        """The app's ``headers`` without the ``Set-Cookie``s that ``allowed`` refuses."""
        start = cls()
        kept = start.headers
        known = verdicts.known
        nameless = verdicts.nameless
        for header in headers:
            name, value = header
            if type(name) is not bytes:
                name = as_bytes(name)
            if name not in _NOTED:
                name = name.lower()
                if name not in _NOTED:
                    kept.append(header)
                    continue
            if name == SET_COOKIE:
                start.set_cookie = True
                if type(value) is not bytes:
                    value = as_bytes(value)
                raw_name, equals, _ = value.partition(b"=")
                # No "=" at all: a nameless cookie, which no declaration names.
                verdict = (known.get(raw_name) or verdicts.learn(raw_name)) if equals else nameless
                if verdict.bit & allowed:
                    kept.append(header)
                continue
            start._note(name, value, len(kept))
            kept.append(header)
        return start

    def _note(self, name: bytes, value: Any, index: int) -> None:
        """Remember what a header other than ``Set-Cookie`` says about the page."""
        if type(value) is not bytes:
            value = as_bytes(value)
        if name == VARY:
            self.vary_index = index
        elif name == CONTENT_TYPE:
            self.content_type = value
        elif name == CONTENT_LENGTH:
            self.content_length_index = index
        elif name == CONTENT_ENCODING:
            self.encoded = value.strip().lower() not in (b"", b"identity")
        elif name == CONTENT_DISPOSITION:
            self.attachment = value.strip().lower().startswith(b"attachment")
        else:
            self.app_policies += (value,)  # rare: no list per response

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
