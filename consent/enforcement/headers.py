"""Small header helpers shared by the middleware, the endpoints, the CSP and the banner.

The middleware's own request loop reads the headers it needs in one pass; the
endpoints, the banner and the records read the odd header with ``request_header``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Added to a response whose headers depend on the Cookie header: immutable, so one tuple
# is shared by every response.
VARY_COOKIE = (b"vary", b"Cookie")


def request_header(scope: Mapping[str, Any], name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower case, as ASGI delivers names)."""
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value)
    return None


def add_vary_cookie(vary: bytes) -> bytes:
    """A ``Vary`` value that also names ``Cookie`` (unchanged if it does, or is ``*``)."""
    fields = [field.strip().lower() for field in vary.split(b",")]
    if b"cookie" in fields or b"*" in fields:
        return vary
    return vary + b", Cookie" if vary.strip() else b"Cookie"
