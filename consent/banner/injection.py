"""Insert the banner into HTML responses on their way out, without buffering them.

Two payloads go into a page: one right after ``<head …>`` (Consent Mode's
``default`` command must run before any tag) and one before ``</body>``. Both are
decided when the response starts, so the new ``Content-Length`` is known before a
single body byte is sent, and the body still streams chunk by chunk. Anything that
is not an uncompressed ``text/html`` body passes through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from starlette.types import Message, Send

# Where the middleware leaves the Banner for the template helpers (scope["state"]).
BANNER_KEY = "consent_banner"
# Where the head payload goes: after <head>, else after <html>, else after the doctype.
_HEAD = re.compile(rb"<head(?:\s[^>]*)?>", re.IGNORECASE)
_HTML = re.compile(rb"<html(?:\s[^>]*)?>", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!doctype[^>]*>", re.IGNORECASE)
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
# A head that has not shown up in the first bytes is not coming.
HEAD_WINDOW = 4096
_BODY_END_HOLD = len(b"</body ") + 8
_BODY_END_TAIL = 1024

Render = Callable[[list[tuple[bytes, bytes]]], tuple[bytes, bytes] | None]


def is_injectable(status: int, headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """An uncompressed, inline ``text/html`` response with a body.

    Runs for every response: header names are compared only when their length could
    match, which keeps the loop to a length check for most headers.
    """
    if status < 200 or 300 <= status < 400 or status == 204:
        return False
    html = False
    for key, value in headers:
        length = len(key)
        if length == 12:
            if key.lower() == b"content-type":
                html = value.split(b";", 1)[0].strip().lower() == b"text/html"
        elif length == 16:
            if key.lower() == b"content-encoding" and value.strip().lower() not in (
                b"",
                b"identity",
            ):
                return False
        elif (
            length == 19
            and key.lower() == b"content-disposition"
            and value.strip().lower().startswith(b"attachment")
        ):
            return False
    return html


def _body_end(data: bytes, start: int) -> int:
    """Where ``</body>`` starts in ``data[start:]``, or -1.

    Looked for first in the last bytes, where it almost always is (the last one there,
    so a ``"</body>"`` inside an earlier script is passed over): a case-insensitive
    search through a whole page costs ~0.4 µs per KB.
    """
    tail = max(start, len(data) - _BODY_END_TAIL)
    found = data[tail:].lower().rfind(b"</body")
    if found >= 0 and _BODY_END.match(data, tail + found):
        return tail + found
    if found < 0 and tail == start:
        return -1  # the whole of it was searched
    match = _BODY_END.search(data, start)
    return -1 if match is None else match.start()


def _head_position(data: bytes) -> int:
    """Where the head payload goes, looking only at the first ``HEAD_WINDOW`` bytes."""
    for pattern in (_HEAD, _HTML, _DOCTYPE):
        match = pattern.search(data, 0, HEAD_WINDOW)
        if match is not None:
            return match.end()
    return 0


def wrap_send(send: Send, render: Render) -> Send:
    """A ``send`` that injects ``render(headers)``'s payloads into an HTML response.

    The caller has already found the response injectable (``is_injectable``).
    ``render`` returns ``(head_payload, body_payload)`` or ``None`` to leave the
    response alone.
    """
    head_payload = b""
    body_payload = b""
    active = False
    head_pending = False
    held = b""  # bytes not yet sent: searching for <head> or a split </body>
    # The start message waits for the first body message: a server extension such as
    # http.response.pathsend sends the body itself, and then nothing may be changed.
    original_start: Message | None = None
    changed_start: Message | None = None

    async def injecting_send(message: Message) -> None:
        nonlocal head_payload, body_payload, active, head_pending, held
        nonlocal original_start, changed_start
        message_type = message["type"]
        if message_type == "http.response.start":
            headers = list(message.get("headers") or ())
            payloads = render(headers)
            if payloads is not None and (payloads[0] or payloads[1]):
                head_payload, body_payload = payloads
                active = True
                head_pending = bool(head_payload)
                added = len(head_payload) + len(body_payload)
                original_start = message
                changed_start = dict(message)
                changed_start["headers"] = _adjust(headers, added)
                return
            await send(message)
            return
        if original_start is not None and changed_start is not None:
            if message_type == "http.response.body":
                await send(changed_start)
            else:
                active = False
                await send(original_start)
            original_start = changed_start = None
        if message_type != "http.response.body" or not active:
            await send(message)
            return
        data = held + bytes(message.get("body", b""))
        more = bool(message.get("more_body", False))
        held = b""
        # Pieces of one memoryview, joined once: the page is copied once, whatever its size.
        view = memoryview(data)
        out: list[bytes | memoryview] = []
        start = 0
        if head_pending:
            if more and len(data) < HEAD_WINDOW and _HEAD.search(data) is None:
                held = data
                return
            start = _head_position(data)
            out += (view[:start], head_payload)
            head_pending = False
        if body_payload:
            end = _body_end(data, start)
            if end >= 0:
                out += (view[start:end], body_payload, view[end:])
                body_payload = b""
            elif not more:
                out += (view[start:], body_payload)
                body_payload = b""
            else:
                # Keep a tail back in case "</body>" is split across chunks.
                cut = max(start, len(data) - _BODY_END_HOLD)
                out.append(view[start:cut])
                held = data[cut:]
        else:
            out.append(view[start:])
        body = b"".join(out)
        if not body and more:
            return
        message["body"] = body
        if not body_payload and not head_pending:
            active = False  # done: later chunks go straight through
        await send(message)

    return injecting_send


_VARY_ADDED = (b"Cookie", b"Accept-Language")
# An app sends few distinct Vary values (often just the middleware's own "Cookie"):
# each is merged once. Bounded: values past the first 64 are merged every time.
_VARY_MERGED: dict[bytes, bytes] = {}
_VARY_CACHE_SIZE = 64


def _merge_vary(value: bytes) -> bytes:
    merged = _VARY_MERGED.get(value)
    if merged is None:
        present = {field.strip().lower() for field in value.split(b",")}
        missing = [f for f in _VARY_ADDED if f.lower() not in present]
        stripped = value.strip()
        if b"*" in present or not missing:
            merged = value
        else:
            merged = b", ".join([stripped, *missing] if stripped else missing)
        if len(_VARY_MERGED) < _VARY_CACHE_SIZE:
            _VARY_MERGED[value] = merged
    return merged


def _adjust(headers: list[tuple[bytes, bytes]], added: int) -> list[tuple[bytes, bytes]]:
    """Grow ``Content-Length`` by ``added`` and vary on the cookie and language, in place.

    The injected markup depends on the consent cookie and the visitor's language. One
    pass; names are compared only when their length matches (as in ``is_injectable``).
    """
    vary_seen = False
    index = -1
    for key, value in headers:
        index += 1
        length = len(key)
        if length == 14:
            if key.lower() == b"content-length" and value.strip().isdigit():
                headers[index] = (key, b"%d" % (int(value) + added))
        elif length == 4 and not vary_seen and key.lower() == b"vary":
            vary_seen = True
            headers[index] = (key, _merge_vary(value))
    if not vary_seen:
        headers.append((b"vary", b"Cookie, Accept-Language"))
    return headers
