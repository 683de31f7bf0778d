"""Insert the banner into an HTML response on its way out, without buffering it.

Two payloads go into a page: one right after ``<head …>`` (Consent Mode's ``default``
command must run before any tag) and one before ``</body>``. Both are known when the
response starts, so the new ``Content-Length`` is sent before a single body byte, and
the body still streams chunk by chunk: a chunk is looked at only until both payloads
are in, and later chunks go straight through.

The middleware decides whether a response is a page the banner goes into
(``is_page``) from what its one pass over the response headers noted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.types import Message

from ..enforcement.response import ResponseStart

# Where the middleware leaves the Banner for the template helpers (scope["state"]).
BANNER_KEY = "consent_banner"
# Where the head payload goes: after <head>, else after <html>, else after the doctype.
_HEAD = re.compile(rb"<head(?:\s[^>]*)?>", re.IGNORECASE)
_HTML = re.compile(rb"<html(?:\s[^>]*)?>", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!doctype[^>]*>", re.IGNORECASE)
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
# A page's usual end: its </body>, then at most </html> and white space.
_PAGE_END = re.compile(rb"</body\s*>\s*(?:</html\s*>\s*)?\Z", re.IGNORECASE)
# A head that has not shown up in the first bytes is not coming.
HEAD_WINDOW = 4096
# Bytes kept back from a chunk in case "</body>" is split across two of them.
_BODY_END_HOLD = len(b"</body ") + 8
# Where "</body>" nearly always is: looked for there first.
_BODY_END_TAIL = 1024


_HTML_TYPES: dict[bytes, bool] = {}  # Content-Type value -> text/html; apps use a few


def is_page(status: int, content_type: bytes | None, encoded: bool, attachment: bool) -> bool:
    """An uncompressed, inline ``text/html`` response with a body."""
    if status < 200 or 300 <= status < 400 or status == 204:
        return False
    if content_type is None or encoded or attachment:
        return False
    html = _HTML_TYPES.get(content_type)
    if html is None:
        html = content_type.split(b";", 1)[0].strip().lower() == b"text/html"
        if len(_HTML_TYPES) < 64:
            _HTML_TYPES[content_type] = html
    return html


def body_end(data: bytes, start: int = 0) -> int:
    """Where the page's ``</body>`` starts in ``data[start:]``, or -1.

    The last one in the last bytes, where it almost always is (so a ``"</body>"``
    inside an earlier script is passed over); else, far from the end, the first one.
    """
    tail = max(start, len(data) - _BODY_END_TAIL)
    # The usual page first: "</body>" in lower case, then nothing but "</html>".
    found = data.rfind(b"</body", tail)
    if found >= 0 and _PAGE_END.match(data, found):
        return found
    in_tail = list(_BODY_END.finditer(data, tail))
    if in_tail:
        return in_tail[-1].start()
    if tail == start:
        return -1  # the whole of it was searched
    match = _BODY_END.search(data, start)
    return -1 if match is None else match.start()


def head_position(data: bytes) -> int:
    """Where the head payload goes, looking only at the first ``HEAD_WINDOW`` bytes."""
    for pattern in (_HEAD, _HTML, _DOCTYPE):
        match = pattern.search(data, 0, HEAD_WINDOW)
        if match is not None:
            return match.end()
    return 0


@dataclass(frozen=True, slots=True)
class PagePayloads:
    """What goes into one HTML page: after ``<head>``, and before ``</body>``."""

    head: bytes
    body: bytes


class PageInjection:
    """What one HTML response the banner goes into sends, from its start message on.

    The start message (``start``, its headers in ``headers``) waits for the first body
    message: then its ``Content-Length`` grows by the payloads. A server extension such
    as ``http.response.pathsend`` sends the body itself instead, and then the start leaves
    with the length the app gave it.

    ``messages`` turns each message the app sends into the messages to send in its
    place: a plain function, so that a page costs no coroutine of its own per message.
    """

    def __init__(self, payloads: PagePayloads, start: Message, headers: ResponseStart):
        self._head = payloads.head  # what is still to go in, emptied once in
        self._body = payloads.body
        self._start: Message | None = start
        self._headers = headers
        self._held = b""  # bytes not sent yet: searching for <head> or a split </body>

    def messages(self, message: Message) -> tuple[Message, ...]:
        start = self._start
        if start is not None:
            self._start = None
            if message["type"] != "http.response.body":
                self._head = self._body = b""  # nothing goes in: pass everything on
                return (start, message)
            self._headers.grow_content_length(len(self._head) + len(self._body))
            return (start, *self.messages(message))
        if message["type"] != "http.response.body" or not (self._head or self._body):
            return (message,)
        more = message.get("more_body", False)
        if not more and not self._held:  # the whole page in one message: the usual case
            message["body"] = self._into_page(bytes(message.get("body", b"")))
            return (message,)
        body = self._insert(self._held + bytes(message.get("body", b"")), more)
        if not body and more:
            return ()  # all of it held back for now
        message["body"] = body
        return (message,)

    def _into_page(self, page: bytes) -> bytes:
        """A whole page with both payloads in it."""
        at_head = head_position(page) if self._head else 0
        at_end = body_end(page, at_head) if self._body else -1
        if at_end < 0:
            at_end = len(page)  # no </body>: at the end of the page
        view = memoryview(page)  # slices of a view: the page is copied once, by the join
        pieces = (view[:at_head], self._head, view[at_head:at_end], self._body, view[at_end:])
        self._head = self._body = b""
        return b"".join(pieces)

    def _insert(self, data: bytes, more: bool) -> bytes:
        """``data`` with what belongs in it; what may still be needed is held back."""
        self._held = b""
        # Pieces of one memoryview, joined once: the page is copied once, whatever its size.
        view = memoryview(data)
        out: list[bytes | memoryview] = []
        start = 0
        if self._head:
            if more and len(data) < HEAD_WINDOW and _HEAD.search(data) is None:
                self._held = data
                return b""
            start = head_position(data)
            out += (view[:start], self._head)
            self._head = b""
        if self._body:
            end = body_end(data, start)
            if end >= 0:
                out += (view[start:end], self._body, view[end:])
                self._body = b""
            elif not more:
                out += (view[start:], self._body)  # no </body>: at the end of the page
                self._body = b""
            else:
                cut = max(start, len(data) - _BODY_END_HOLD)
                out.append(view[start:cut])
                self._held = data[cut:]
        else:
            out.append(view[start:])
        return b"".join(out)
