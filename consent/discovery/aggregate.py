"""From sightings to the entries of ``scan.json``: merged, classified and sorted.

A cookie is one entry per ``(name, domain, path)``, the browser's own identity of a
cookie. The domain is kept as the browser stores it (lower-cased): ``.example.com`` for a
cookie set with ``Domain=example.com`` and ``example.com`` for a host-only one are two
cookies, which the browser keeps, sends and deletes separately, and which a policy must
declare differently (``domain:`` or none). CHIPS partitions are not part of the identity:
a partitioned cookie is reported once, whatever the top-level sites it was seen under.

Every list is sorted, so that two scans of an unchanged site give the same ``scan.json``
(a diff shows what changed, not the crawl's order).

The middleware's notes (``--undeclared FILE``) add the names it saw where a crawler
cannot go (after login, the basket); ``read_notes`` reads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ..errors import ConsentError
from ..policy.policy import Policy
from .model import (
    PHASES,
    CookieEntry,
    CookieSighting,
    HostEntry,
    Match,
    Phase,
    PhaseResult,
    ScanResult,
    SetBy,
    StorageEntry,
    StorageKind,
)
from .party import party

# An entry lists at most this many pages: enough to find the cookie again, short enough
# for a site where every page sets it.
MAX_PAGES_PER_ENTRY = 20
_SET_BY_ORDER: tuple[SetBy, ...] = ("http", "js")


class CookieClassifier(Protocol):
    """What ``aggregate`` asks of ``classify.Classifier``."""

    def cookie(self, name: str, domain: str | None) -> Match | None: ...

    def storage(self, key: str) -> Match | None: ...

    def host(self, host: str) -> Match | None: ...

    def declared(self, name: str) -> str | None: ...


# -- the middleware's notes ---------------------------------------------------------------


class MiddlewareNote(BaseModel):
    """One undeclared cookie name the middleware saw (an item of ``--undeclared FILE``).

    Keys a newer middleware may add are ignored, so an older ``consent scan`` still reads
    its file.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(min_length=1, max_length=4096)
    first_seen: AwareDatetime
    last_seen: AwareDatetime
    count: int = Field(strict=True, ge=1)
    path: str = Field(min_length=1, max_length=4096)
    kind: Literal["request", "response"]


_NOTES = TypeAdapter(list[MiddlewareNote])


class NotesError(ConsentError, ValueError):
    """The ``--undeclared`` file cannot be read; the message says where and why."""


def read_notes(path: str | Path) -> list[MiddlewareNote]:
    """The notes of a JSON file: a list of ``{"name", "first_seen", "last_seen", "count",
    "path", "kind"}``, or the file the middleware keeps (``undeclared_notes:``), whose
    ``names`` is that list. Raises :class:`NotesError` naming the first bad item."""
    try:
        data = json.loads(Path(path).read_bytes())
    except OSError as error:
        raise NotesError(f"{path}: cannot read it ({error.strerror or error})") from None
    except ValueError as error:
        raise NotesError(f"{path}: not JSON ({error})") from None
    if isinstance(data, dict) and "names" in data:
        data = data["names"]
    try:
        return _NOTES.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ", ".join(str(part) for part in first["loc"])
        where = f"item {where}" if where else "the file"
        raise NotesError(
            f"{path}: {where}: {first['msg']} (expected a list of "
            '{"name", "first_seen", "last_seen", "count", "path", "kind"}, or the file the '
            "middleware writes)"
        ) from None


@dataclass(frozen=True, slots=True)
class NoteSummary:
    """Every note of one name, summed: the evidence a finding quotes."""

    name: str
    count: int
    last_seen: datetime
    last_path: str
    paths: tuple[str, ...]
    kinds: frozenset[str]


def summarise_notes(notes: Iterable[MiddlewareNote]) -> dict[str, NoteSummary]:
    """The notes by name (a name may be noted once in requests and once in responses)."""
    by_name: dict[str, list[MiddlewareNote]] = {}
    for note in notes:
        by_name.setdefault(note.name, []).append(note)
    summaries = {}
    for name, group in by_name.items():
        last = max(group, key=lambda note: note.last_seen)
        summaries[name] = NoteSummary(
            name=name,
            count=sum(note.count for note in group),
            last_seen=last.last_seen,
            last_path=last.path,
            paths=tuple(sorted({note.path for note in group})),
            kinds=frozenset(note.kind for note in group),
        )
    return summaries


# -- aggregation ----------------------------------------------------------------------------


def site_host(site: str) -> str:
    """The host a site's URL names (``https://www.example.com/`` → ``www.example.com``)."""
    return (urlsplit(site).hostname or site).lower()


def bare_domain(domain: str) -> str:
    """A cookie's domain as a host name: the leading dot of a domain cookie dropped."""
    return domain.removeprefix(".")


def aggregate(
    results: Sequence[PhaseResult],
    site: str,
    classifier: CookieClassifier,
    policy: Policy | None,
    *,
    scanned_at: datetime | None = None,
    notes: Sequence[MiddlewareNote] = (),
) -> ScanResult:
    """Merge the sightings of every phase into one classified, sorted ``ScanResult``.

    ``findings`` is left empty: ``findings.findings`` reads the result this returns.
    ``notes`` add a cookie entry (no phase, first party) for each name the middleware saw
    that the scan did not and the policy still does not declare.
    """
    host = site_host(site)
    moment = (scanned_at or datetime.now(UTC)).astimezone(UTC)
    result = ScanResult(site=site, scanned_at=moment.isoformat(timespec="seconds"))
    result.pages = sorted({page for phase in results for page in phase.pages})
    result.cookies = _cookies(results, host, classifier)
    result.cookies += _noted_cookies(notes, result.cookies, host, classifier, policy)
    result.cookies.sort(key=lambda entry: (entry.name, entry.domain, entry.path))
    result.storage = _storage(results, classifier)
    result.third_party_hosts = _hosts(results, host, classifier)
    return result


def _phases(seen: Iterable[Phase]) -> list[Phase]:
    present = set(seen)
    return [phase for phase in PHASES if phase in present]


def _pages(pages: Iterable[str]) -> list[str]:
    return sorted(set(pages))[:MAX_PAGES_PER_ENTRY]


def _cookies(
    results: Sequence[PhaseResult], host: str, classifier: CookieClassifier
) -> list[CookieEntry]:
    groups: dict[tuple[str, str, str], list[CookieSighting]] = {}
    for phase_result in results:
        for sighting in phase_result.cookies:
            key = (sighting.name, sighting.domain.lower(), sighting.path)
            groups.setdefault(key, []).append(sighting)
    entries = []
    for (name, domain, path), sightings in groups.items():
        # The jar says what the browser kept (the lifetime it actually granted, after
        # its own caps); a Set-Cookie or a script's write says what was asked for.
        ordered = sorted(
            sightings, key=lambda s: (s.set_by is not None, PHASES.index(s.phase), s.page)
        )
        set_by = {s.set_by for s in sightings if s.set_by is not None}
        entries.append(
            CookieEntry(
                name=name,
                domain=domain,
                path=path,
                party=party(bare_domain(domain), host),
                set_by=[kind for kind in _SET_BY_ORDER if kind in set_by],
                phases=_phases(s.phase for s in sightings),
                pages=_pages(s.page for s in sightings),
                http_only=next((s.http_only for s in ordered if s.http_only is not None), None),
                secure=next((s.secure for s in ordered if s.secure is not None), None),
                same_site=next((s.same_site for s in ordered if s.same_site is not None), None),
                lifetime_s=next((s.lifetime_s for s in ordered if s.lifetime_s is not None), None),
                partitioned=any(s.partition is not None for s in sightings),
                declared=classifier.declared(name),
                match=classifier.cookie(name, domain),
            )
        )
    return entries


def _noted_cookies(
    notes: Sequence[MiddlewareNote],
    scanned: Sequence[CookieEntry],
    host: str,
    classifier: CookieClassifier,
    policy: Policy | None,
) -> list[CookieEntry]:
    seen = {entry.name for entry in scanned}
    entries = []
    for name, note in summarise_notes(notes).items():
        # A name the scan saw is reported from the scan; one the policy has declared
        # since the middleware noted it is no longer undeclared.
        if name in seen or (policy is not None and policy.category_of(name) is not None):
            continue
        entries.append(
            CookieEntry(
                # The middleware sees only what reaches this site: a first-party cookie
                # whose Domain it cannot know, reported under the site's host.
                name=name,
                domain=host,
                path="/",
                party="first",
                set_by=["http"] if "response" in note.kinds else [],
                phases=[],
                pages=list(note.paths[:MAX_PAGES_PER_ENTRY]),
                declared=classifier.declared(name),
                match=classifier.cookie(name, None),
            )
        )
    return entries


def _storage(results: Sequence[PhaseResult], classifier: CookieClassifier) -> list[StorageEntry]:
    phases: dict[tuple[StorageKind, str, str], set[Phase]] = {}
    for phase_result in results:
        for sighting in phase_result.storage:
            key = (sighting.kind, sighting.origin, sighting.key)
            phases.setdefault(key, set()).add(sighting.phase)
    return [
        StorageEntry(
            kind=kind,
            origin=origin,
            key=key,
            phases=_phases(seen),
            match=classifier.storage(key),
        )
        for (kind, origin, key), seen in sorted(phases.items())
    ]


def _hosts(
    results: Sequence[PhaseResult], host: str, classifier: CookieClassifier
) -> list[HostEntry]:
    phases: dict[str, set[Phase]] = {}
    for phase_result in results:
        for sighting in phase_result.hosts:
            phases.setdefault(sighting.host.lower(), set()).add(sighting.phase)
    return [
        HostEntry(host=name, phases=_phases(seen), match=classifier.host(name))
        for name, seen in sorted(phases.items())
        if party(name, host) == "third"
    ]
