"""Reading one request header from an ASGI scope, for the code off the hot path.

The middleware's own request loop reads the headers it needs in one pass; the
endpoints, the banner and the records read the odd header with this.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def request_header(scope: Mapping[str, Any], name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower case, as ASGI delivers names)."""
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value)
    return None
