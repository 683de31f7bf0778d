"""The banner's JavaScript and CSS, served under content-hashed names.

A name carries the first 12 hex digits of the file's SHA-256, so a response can be
cached for a year (``immutable``): a new release changes the name, never the bytes
behind an old one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files

from starlette.responses import JSONResponse, Response

CACHE_FOREVER = "public, max-age=31536000, immutable"
_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class Asset:
    stem: str
    extension: str
    body: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body).hexdigest()[:12]

    @property
    def filename(self) -> str:
        return f"{self.stem}.{self.digest}.{self.extension}"


def _load(name: str) -> Asset:
    stem, _, extension = name.rpartition(".")
    return Asset(stem, extension, files("consent.banner").joinpath("static", name).read_bytes())


BANNER_JS = _load("banner.js")
BANNER_CSS = _load("banner.css")
ASSETS = {asset.filename: asset for asset in (BANNER_JS, BANNER_CSS)}


def asset_response(filename: str) -> Response:
    """The asset named ``filename`` (with its hash), or a 404 for any other name."""
    asset = ASSETS.get(filename)
    if asset is None:
        # Like every refusal of the consent endpoints: JSON naming the problem.
        return JSONResponse(
            {"error": f"no asset {filename!r} (the page may be older than this version)"},
            status_code=404,
            headers={"cache-control": "no-store"},
        )
    return Response(
        asset.body,
        media_type=_TYPES[asset.extension],
        headers={"cache-control": CACHE_FOREVER, "x-content-type-options": "nosniff"},
    )
