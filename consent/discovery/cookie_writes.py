"""What one cookie write says: the name and scope a browser gives a ``Set-Cookie`` or a
script's ``document.cookie`` write, read as RFC 6265 reads it. Never the value.

Plain Python (no Playwright), so that the rules are tested on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urlsplit

from .model import CookieSighting, Phase

# Chromium grants at most 400 days (RFC 6265bis), whatever a cookie asks for.
MAX_LIFETIME_S = 400 * 24 * 3600


@dataclass(frozen=True, slots=True)
class CookieScope:
    """What the attributes of one cookie write say (``Set-Cookie`` or a script's)."""

    name: str
    domain: str  # as the browser stores it: ".example.com" with Domain=, else the host
    path: str
    http_only: bool
    secure: bool
    same_site: str | None
    lifetime_s: int | None  # None: a session cookie
    partitioned: bool

    def sighting(
        self, phase: Phase, page: str, set_by: Literal["http", "js"], frame: str, source: str | None
    ) -> CookieSighting:
        parts = urlsplit(page)
        return CookieSighting(
            phase,
            page,
            self.name,
            self.domain,
            self.path,
            set_by=set_by,
            frame_url=frame,
            http_only=self.http_only,
            secure=self.secure,
            same_site=self.same_site,
            lifetime_s=self.lifetime_s,
            # CHIPS keys a partitioned cookie by the top-level site: the page's.
            partition=f"{parts.scheme}://{parts.hostname}" if self.partitioned else None,
            source_url=source,
        )


def read_cookie(
    name: str, attributes: str, url: str, now: float, *, http_only: bool | None = None
) -> CookieScope | None:
    """The scope of cookie ``name`` written for ``url`` with ``attributes`` (the text after
    the first ``;``), or ``None`` for a deletion (``Max-Age`` ≤ 0, ``Expires`` past).

    Read as RFC 6265 says a browser reads it: the last of a repeated attribute wins,
    ``Max-Age`` over ``Expires``, the default path is the URL's directory. A lifetime
    longer than 400 days is cut to 400, as Chromium does.
    """
    seen: dict[str, str] = {}
    for attribute in attributes.split(";"):
        key, _, value = attribute.partition("=")
        seen[key.strip().lower()] = value.strip()
    lifetime: float | None = None
    if "max-age" in seen and seen["max-age"].lstrip("-").isdigit():
        lifetime = int(seen["max-age"])
    elif "expires" in seen and (expires := _http_date(seen["expires"])) is not None:
        lifetime = expires - now
    if lifetime is not None and lifetime <= 0:
        return None
    parts = urlsplit(url)
    domain = seen.get("domain", "").lstrip(".").lower()
    path = seen.get("path", "")
    same_site = seen.get("samesite", "").capitalize()
    return CookieScope(
        name=name,
        domain=f".{domain}" if domain else (parts.hostname or ""),
        path=path if path.startswith("/") else _default_path(parts.path),
        http_only="httponly" in seen if http_only is None else http_only,
        secure="secure" in seen,
        same_site=same_site if same_site in ("Strict", "Lax", "None") else None,
        lifetime_s=None if lifetime is None else min(round(lifetime), MAX_LIFETIME_S),
        partitioned="partitioned" in seen,
    )


def _http_date(text: str) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None  # an unreadable Expires is ignored, as browsers ignore it
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _default_path(path: str) -> str:
    """RFC 6265 5.1.4: the request path up to its last ``/``, or ``/``."""
    if not path.startswith("/") or path.count("/") == 1:
        return "/"
    return path[: path.rfind("/")]
