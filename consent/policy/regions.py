"""Region codes: validated at load, read from a trusted geo header per request.

A region is an ISO 3166-1 alpha-2 country (``FR``) or an ISO 3166-2 subdivision
(``US-CA``). CDNs send the country in one header (``CF-IPCountry``,
``CloudFront-Viewer-Country``) and, when asked to, the subdivision part in another
(``cf-region-code``, ``CloudFront-Viewer-Country-Region``: ``CA``); some proxies send
``US-CA`` in one header. Anything else a client or a CDN may send (``XX``, ``T1``,
lower case, spaces, a long string) reads as "no region", never as an error.
"""

from __future__ import annotations

import re

from .iso3166 import COUNTRIES, SUBDIVISIONS

# Kosovo has no ISO code yet, but Cloudflare and CloudFront send this user-assigned one.
EXTRA_COUNTRIES = frozenset({"XK"})
_COUNTRY = re.compile(r"[A-Z]{2}")
_SUBDIVISION = re.compile(r"[A-Z0-9]{1,3}")
_MAX_HEADER_BYTES = 16  # "US-CA" and friends; anything longer is not a region


def validate_region(code: str) -> str:
    """A region code as written in the policy file, or ``ValueError`` saying how to fix it."""
    country, dash, subdivision = code.partition("-")
    if not _COUNTRY.fullmatch(country) or (dash and not _SUBDIVISION.fullmatch(subdivision)):
        raise ValueError(
            f"{code!r} is not a region code: write an ISO 3166-1 country in capitals ('FR', "
            "'US') or an ISO 3166-2 subdivision ('US-CA', 'ES-CT')"
        )
    if country not in COUNTRIES and country not in EXTRA_COUNTRIES:
        hint = " (the United Kingdom is 'GB')" if country == "UK" else ""
        raise ValueError(f"{country!r} is not an ISO 3166-1 country code{hint}")
    if dash and subdivision not in SUBDIVISIONS.get(country, ()):
        raise ValueError(f"{code!r} is not an ISO 3166-2 subdivision of {country!r}")
    return code


def read_region(country: bytes | None, subdivision: bytes | None) -> str | None:
    """The visitor's region from the trusted header values; ``None`` when unusable.

    ``country`` may already hold a subdivision (``US-CA``); ``subdivision`` is the part
    after the dash from a second header. Codes are upper-cased; a well-formed code that
    no country has (``XX``, ``ZZ``) is no region.
    """
    if country is None or len(country) > _MAX_HEADER_BYTES:
        return None
    text = country.decode("latin-1").strip().upper()
    if subdivision is not None and "-" not in text and len(subdivision) <= _MAX_HEADER_BYTES:
        part = subdivision.decode("latin-1").strip().upper()
        if part:
            text = f"{text}-{part}"
    country_code, dash, sub = text.partition("-")
    if not _COUNTRY.fullmatch(country_code) or (
        country_code not in COUNTRIES and country_code not in EXTRA_COUNTRIES
    ):
        return None
    if dash and not _SUBDIVISION.fullmatch(sub):
        return country_code  # the country is still good: keep the coarser answer
    return text


def lookup_order(region: str) -> tuple[str, ...]:
    """Rules to try for ``region``, most specific first: ``US-CA`` then ``US``."""
    country, dash, _ = region.partition("-")
    return (region, country) if dash else (region,)
