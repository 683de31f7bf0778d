"""What a scan sees and what it reports: plain data, shared by every discovery step.

A *sighting* is one observation in one phase on one page (a cookie set by a response, a
cookie written by a script, a cookie in the browser's jar, a storage key, a request to
a host). The scan keeps names, keys and hosts, never values.

The *entries* (``CookieEntry``, ``StorageEntry``, ``HostEntry``, ``Finding``) are what
``scan.json`` holds (its contract is version 1, docs/scan.md); ``as_json`` gives each
in that shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Phase = Literal["before", "rejected", "accepted"]
PHASES: tuple[Phase, ...] = ("before", "rejected", "accepted")
SetBy = Literal["http", "js"]
Party = Literal["first", "third"]
StorageKind = Literal["localStorage", "sessionStorage", "indexedDB"]
MatchSource = Literal["policy", "catalogue", "open-cookie-database", "heuristic"]
FindingKind = Literal["before_consent", "after_reject", "undeclared", "unused_declaration"]
SCAN_VERSION = 1


# -- sightings: what the crawler notes -----------------------------------------------


@dataclass(frozen=True, slots=True)
class CookieSighting:
    """A cookie seen in one phase on one page.

    ``set_by`` is ``"http"`` for a ``Set-Cookie`` of a response (of any frame), ``"js"``
    for a write by a script (``document.cookie``, ``cookieStore``), ``None`` when it was
    only found in the browser's jar. ``domain`` is as the browser stores it: a leading
    dot for a domain cookie, none for a host-only one. ``lifetime_s`` is what the
    browser granted (``None``: a session cookie, or not known from this sighting).
    ``source_url`` says who set it: the URL of the response (``http``) or of the script
    that wrote it (``js``; an inline script gives its document's URL).
    """

    phase: Phase
    page: str
    name: str
    domain: str
    path: str = "/"
    set_by: SetBy | None = None
    frame_url: str | None = None
    http_only: bool | None = None
    secure: bool | None = None
    same_site: str | None = None
    lifetime_s: int | None = None
    partition: str | None = None
    source_url: str | None = None


@dataclass(frozen=True, slots=True)
class StorageSighting:
    phase: Phase
    page: str
    kind: StorageKind
    origin: str
    key: str


@dataclass(frozen=True, slots=True)
class HostSighting:
    """A request the page made to a host (``resource_type``: script, image, ...)."""

    phase: Phase
    page: str
    host: str
    resource_type: str


@dataclass(slots=True)
class PhaseResult:
    """Everything one phase of the crawl saw."""

    phase: Phase
    pages: list[str] = field(default_factory=list)
    cookies: list[CookieSighting] = field(default_factory=list)
    storage: list[StorageSighting] = field(default_factory=list)
    hosts: list[HostSighting] = field(default_factory=list)
    screenshot: bytes | None = None  # PNG of the first page, as the visitor first sees it


# -- entries: what scan.json holds ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """What a cookie, storage key or host is, and where that knowledge comes from.

    ``review`` marks a match a person should check: a prefix match, or a category the
    mapping from the source is unsure of.
    """

    category: str
    source: MatchSource
    service: str | None = None
    provider: str | None = None
    review: bool = False
    description: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "service": self.service,
            "provider": self.provider,
            "source": self.source,
            "review": self.review,
        }


def _match_json(match: Match | None) -> dict[str, Any] | None:
    return None if match is None else match.as_json()


@dataclass(slots=True)
class CookieEntry:
    name: str
    domain: str
    path: str
    party: Party
    set_by: list[SetBy] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    http_only: bool | None = None
    secure: bool | None = None
    same_site: str | None = None
    lifetime_s: int | None = None
    # Partitioned (CHIPS): a withdrawal can only delete it with Partitioned too.
    partitioned: bool = False
    declared: str | None = None
    match: Match | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "domain": self.domain,
            "path": self.path,
            "party": self.party,
            "set_by": list(self.set_by),
            "phases": list(self.phases),
            "pages": list(self.pages),
            "http_only": self.http_only,
            "secure": self.secure,
            "same_site": self.same_site,
            "lifetime_s": self.lifetime_s,
            "partitioned": self.partitioned,
            "declared": self.declared,
            "match": _match_json(self.match),
        }


@dataclass(slots=True)
class StorageEntry:
    kind: StorageKind
    origin: str
    key: str
    phases: list[Phase] = field(default_factory=list)
    match: Match | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "origin": self.origin,
            "key": self.key,
            "phases": list(self.phases),
            "match": _match_json(self.match),
        }


@dataclass(slots=True)
class HostEntry:
    host: str
    phases: list[Phase] = field(default_factory=list)
    match: Match | None = None

    def as_json(self) -> dict[str, Any]:
        return {"host": self.host, "phases": list(self.phases), "match": _match_json(self.match)}


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    name: str
    domain: str
    phases: tuple[Phase, ...]
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "domain": self.domain,
            "phases": list(self.phases),
            "detail": self.detail,
        }


@dataclass(slots=True)
class ScanResult:
    site: str
    scanned_at: str
    pages: list[str] = field(default_factory=list)
    cookies: list[CookieEntry] = field(default_factory=list)
    storage: list[StorageEntry] = field(default_factory=list)
    third_party_hosts: list[HostEntry] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "version": SCAN_VERSION,
            "site": self.site,
            "scanned_at": self.scanned_at,
            "pages": list(self.pages),
            "cookies": [entry.as_json() for entry in self.cookies],
            "storage": [entry.as_json() for entry in self.storage],
            "third_party_hosts": [entry.as_json() for entry in self.third_party_hosts],
            "findings": [finding.as_json() for finding in self.findings],
        }
