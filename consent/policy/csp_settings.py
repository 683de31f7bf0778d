"""The YAML side of the consent-driven Content-Security-Policy: ``csp:`` and ``hosts:``.

Kept apart from config.py (which imports it) so that the CSP feature stays in two small
modules: this one validates, signals/csp.py builds the header. Every host ends up verbatim in a
response header, so it is checked here once (rule 9) and never again per request.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictBool, field_validator

# A CSP host-source as the file may write it: an optional scheme, a host name or IPv4
# address (optionally "*." for any sub-domain), an optional port or ":*". No path: CSP
# path matching is ignored after a redirect, so it would promise more than it holds.
_HOST = re.compile(
    r"(?:(?:https?|wss?)://)?"
    r"(?:\*\.)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
    r"(?::(?:[0-9]{1,5}|\*))?"
)
# report-uri: an absolute http(s) URL or a path; printable ASCII without ';', ',' or spaces,
# which would end the directive or the policy.
_REPORT_URI = re.compile(
    r"(?:https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?)?/[\x21-\x2b\x2d-\x3a\x3c-\x7e]*"
)

Directive = Literal[
    "script-src", "style-src", "img-src", "font-src", "connect-src", "frame-src", "media-src"
]
DEFAULT_DIRECTIVES: tuple[Directive, ...] = ("script-src", "frame-src", "img-src", "connect-src")


def _host(value: str) -> str:
    host = value.lower().rstrip("/")
    if len(host) > 253 or not _HOST.fullmatch(host):
        raise ValueError(
            "a host looks like 'www.example.com', '*.example.com' or "
            "'https://cdn.example.com:8443': an optional http(s):// or ws(s)://, a host name "
            "(or '*.' and a domain), an optional port; no path, quotes, ';', ',' or spaces"
        )
    return host


def _report_uri(value: str | None) -> str | None:
    if value is not None and (len(value) > 2048 or not _REPORT_URI.fullmatch(value)):
        raise ValueError(
            "report_uri is an http(s) URL or a path starting with '/', without spaces, ';' or ','"
        )
    return value


Host = Annotated[str, AfterValidator(_host)]


class CspSettings(BaseModel):
    """``csp:`` — whether and how the middleware adds its Content-Security-Policy header."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: StrictBool = False
    report_only: StrictBool = False
    directives: tuple[Directive, ...] = DEFAULT_DIRECTIVES
    nonce: StrictBool = True
    unsafe_eval: StrictBool = False
    report_uri: Annotated[str | None, AfterValidator(_report_uri)] = None

    @field_validator("directives")
    @classmethod
    def _directives(cls, value: tuple[Directive, ...]) -> tuple[Directive, ...]:
        if not value:
            raise ValueError("list at least one directive, e.g. [script-src]")
        if len(set(value)) != len(value):
            raise ValueError("each directive may be listed only once")
        return value
