"""Global Privacy Control: the site's statement of support at ``/.well-known/gpc.json``.

The GPC specification lets a site declare that it honours the signal with a JSON
resource ``{"gpc": true, "lastUpdate": "YYYY-MM-DD"}`` (``lastUpdate`` optional, the
date the statement was made). The middleware serves it when ``gpc: true``; with
``gpc: false`` the path reaches the app like any other.
"""

from __future__ import annotations

import json

from starlette.types import Receive, Scope, Send

from ..policy.config import PolicyConfig

WELL_KNOWN_PATH = "/.well-known/gpc.json"
# A statement of policy, not of the visitor: shared caches may keep it for a day.
_CACHE_CONTROL = b"public, max-age=86400"


class WellKnownGpc:
    """A tiny ASGI responder for ``/.well-known/gpc.json``; the body is built once."""

    def __init__(self, config: PolicyConfig) -> None:
        document: dict[str, object] = {"gpc": True}
        if config.gpc_last_update is not None:
            document["lastUpdate"] = config.gpc_last_update
        self.body = json.dumps(document).encode()
        # Both answers are fixed: build them here, not per request.
        self._ok = (200, self.body, _headers(self.body, _CACHE_CONTROL_HEADERS))
        refusal = json.dumps({"error": "only GET and HEAD are allowed here"}).encode()
        self._refused = (405, refusal, _headers(refusal, [(b"allow", b"GET, HEAD")]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        status, body, headers = self._ok if method in ("GET", "HEAD") else self._refused
        await send({"type": "http.response.start", "status": status, "headers": list(headers)})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


_CACHE_CONTROL_HEADERS = [
    (b"cache-control", _CACHE_CONTROL),
    (b"access-control-allow-origin", b"*"),
]


def _headers(body: bytes, extra: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"application/json"),
        *extra,
        (b"content-length", str(len(body)).encode()),
    ]
