"""Global Privacy Control: the site's statement of support at ``/.well-known/gpc.json``.

The GPC specification lets a site declare that it honours the signal with a JSON
resource ``{"gpc": true, "lastUpdate": "YYYY-MM-DD"}`` (``lastUpdate`` optional, the
date the statement was made). The middleware serves it when ``gpc: true``; with
``gpc: false`` the path reaches the app like any other.
"""

from __future__ import annotations

import json

from starlette.types import Receive, Scope, Send

from .config import PolicyConfig

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method in ("GET", "HEAD"):
            status, body = 200, self.body
            headers = [
                (b"content-type", b"application/json"),
                (b"cache-control", _CACHE_CONTROL),
                (b"access-control-allow-origin", b"*"),
            ]
        else:
            status, body = 405, b'{"error": "only GET and HEAD are allowed here"}'
            headers = [(b"content-type", b"application/json"), (b"allow", b"GET, HEAD")]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
