"""Small header helpers shared by the middleware, the endpoints and the banner.

The middleware reads the request headers it needs in one pass (enforcement/request.py);
the endpoints, the banner and the records read the odd header with ``request_header``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Added to a response whose headers depend on the Cookie header: immutable, so one tuple
# is shared by every response.
VARY_COOKIE = (b"vary", b"Cookie")


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


def request_header(scope: Mapping[str, Any], name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower case, as ASGI delivers names)."""
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value)
    return None
