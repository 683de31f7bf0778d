"""What a scan found wrong, as ``scan.json``'s ``findings``.

- ``before_consent``: a cookie or storage key of a category that is not required,
  present before any choice (``before``);
- ``after_reject``: the same after "reject all" (``rejected``);
- ``undeclared``: a cookie the policy does not declare (seen by the scan, or noted by
  the middleware on pages the crawler cannot reach);
- ``unused_declaration``: a declaration no cookie the scan saw resolves to.

A cookie is *required* when the policy declares it in a required category; an
undeclared one when its match's category is ``necessary`` (or a category the policy
makes required). An undeclared cookie nothing matched is **not** required: unknown is
not consented, so it counts in ``before_consent`` and ``after_reject`` as the
middleware's default (``undeclared: block``) would treat it. Storage keys are judged by
their match alone: a policy declares cookies, so a storage key is never ``undeclared``.

The consent cookie itself (``consent``, ``__Host-consent``, ...) is the choice, not a
finding.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from ..enforcement.cookies import consent_cookie_names as own_cookie_names
from ..policy.config import ConsentCookieSettings
from ..policy.policy import Policy
from .aggregate import MiddlewareNote, NoteSummary, summarise_notes
from .model import (
    CookieEntry,
    Finding,
    FindingKind,
    Match,
    Phase,
    PhaseResult,
    ScanResult,
    SetBy,
    StorageEntry,
)

FINDING_KINDS: tuple[FindingKind, ...] = (
    "before_consent",
    "after_reject",
    "undeclared",
    "unused_declaration",
)
# What makes `consent scan` exit 1 unless --fail-on says otherwise: the two breaches of
# prior consent. Undeclared cookies and stale declarations are for the report.
DEFAULT_FAIL_ON: tuple[FindingKind, ...] = ("before_consent", "after_reject")
PHASE_WORDS: dict[Phase, str] = {
    "before": "before any choice",
    "rejected": "after reject all",
    "accepted": "after accept all",
}
# A detail quotes a few pages; the entry in scan.json has the rest.
_PAGES_QUOTED = 3


def printable(text: str) -> str:
    """``text`` with what a terminal or a YAML file would act on (control characters)
    shown as ``?``: names and addresses come from the site that was scanned."""
    return "".join(char if char.isprintable() else "?" for char in text)


def phase_words(phases: Iterable[Phase]) -> str:
    """``["before", "accepted"]`` → ``before any choice and after accept all``."""
    words = [PHASE_WORDS[phase] for phase in phases]
    return " and ".join(filter(None, [", ".join(words[:-1]), *words[-1:]]))


def consent_cookie_names(policy: Policy | None) -> frozenset[str]:
    """The names the middleware writes the choice under, over http and https."""
    cookie = policy.config.cookie if policy is not None else ConsentCookieSettings()
    return frozenset(own_cookie_names(cookie.name, cookie.domain))


def is_required(declared: str | None, match: Match | None, policy: Policy | None) -> bool:
    """Whether a cookie (or storage key) may be there before a choice and after a refusal."""
    required = policy.required if policy is not None else frozenset()
    if declared is not None:
        return declared in required
    if match is None:
        return False  # unknown is not consented
    return match.category == "necessary" or match.category in required


def failing(findings: Iterable[Finding], fail_on: Collection[str]) -> list[Finding]:
    """The findings whose kind is in ``fail_on``: the reason to exit 1."""
    return [finding for finding in findings if finding.kind in fail_on]


# -- evidence: what a detail quotes --------------------------------------------------------


@dataclass(slots=True)
class _Evidence:
    pages: set[str] = field(default_factory=set)
    set_by: set[SetBy | None] = field(default_factory=set)
    frames: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)  # who set it: a response's or script's URL


_EvidenceIndex = dict[tuple[str, str, str, Phase], _Evidence]


def _index(results: Sequence[PhaseResult]) -> _EvidenceIndex:
    index: _EvidenceIndex = {}
    for phase_result in results:
        for s in phase_result.cookies:
            evidence = index.setdefault((s.name, s.domain.lower(), s.path, s.phase), _Evidence())
            evidence.pages.add(s.page)
            evidence.set_by.add(s.set_by)
            if s.frame_url and s.frame_url != s.page:
                evidence.frames.add(_origin(s.frame_url))
            if s.source_url:
                # The query holds ids and cache busters: the script's address says who.
                evidence.sources.add(s.source_url.split("?", 1)[0].split("#", 1)[0])
    return index


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if rest else url


def _quote_pages(pages: Iterable[str]) -> str:
    ordered = sorted(set(pages))
    shown = ", ".join(ordered[:_PAGES_QUOTED])
    more = len(ordered) - _PAGES_QUOTED
    return f"{shown} and {more} more" if more > 0 else shown


def _how(set_by: Collection[SetBy | None]) -> str:
    ways = []
    if "http" in set_by:
        ways.append("a Set-Cookie header")
    if "js" in set_by:
        ways.append("a script")
    if not ways:
        return "found in the browser's cookie jar"
    return "set by " + " and ".join(ways)


def _what(entry: CookieEntry) -> str:
    if entry.declared is not None:
        return f"The {entry.declared} cookie {entry.name}"
    if entry.match is None:
        return f"The undeclared cookie {entry.name} (unknown: treated as needing consent)"
    return f"The undeclared cookie {entry.name} ({_match_words(entry.match)})"


def service_words(match: Match) -> str:
    """Who a match says is behind a name: ``google-analytics-4 (Google)``, or ``""``."""
    if match.service and match.provider:
        return f"{match.service} ({match.provider})"
    return match.service or match.provider or ""


def _match_words(match: Match) -> str:
    who = service_words(match)
    known = f"{who}, " if who else ""
    unsure = ", to review" if match.review else ""
    return f"{known}{match.category} per the {match.source}{unsure}"


# -- the findings ----------------------------------------------------------------------------


def findings(
    result: ScanResult,
    policy: Policy | None,
    *,
    sightings: Sequence[PhaseResult] = (),
    notes: Sequence[MiddlewareNote] = (),
) -> list[Finding]:
    """The findings of a scan, sorted by kind, then name and domain.

    ``sightings`` (the crawl's phase results) let a detail name the pages, the way a
    cookie was set and the frames of each phase; without them it quotes the entry's.
    ``notes`` (the middleware's) give the evidence for cookies no phase saw.
    """
    index = _index(sightings)
    noted = summarise_notes(notes)
    own_names = consent_cookie_names(policy)
    found: list[Finding] = []
    for entry in result.cookies:
        if entry.party == "first" and entry.name in own_names:
            continue
        if not is_required(entry.declared, entry.match, policy):
            found += _breaches(entry, index)
        if entry.declared is None:
            found.append(_undeclared(entry, policy, noted.get(entry.name)))
    for storage in result.storage:
        if not is_required(None, storage.match, policy):
            found += _storage_breaches(storage)
    if policy is not None:
        found += _unused(result, policy)
    order = {kind: position for position, kind in enumerate(FINDING_KINDS)}
    found.sort(key=lambda f: (order[f.kind], f.name, f.domain))
    return found


_BREACHES: tuple[tuple[FindingKind, Phase], ...] = (
    ("before_consent", "before"),
    ("after_reject", "rejected"),
)


def _breaches(entry: CookieEntry, index: _EvidenceIndex) -> list[Finding]:
    found = []
    for kind, phase in _BREACHES:
        if phase not in entry.phases:
            continue
        evidence = index.get((entry.name, entry.domain, entry.path, phase))
        pages = evidence.pages if evidence else set(entry.pages)
        set_by: Collection[SetBy | None] = evidence.set_by if evidence else entry.set_by
        detail = (
            f"{_what(entry)} was present {PHASE_WORDS[phase]} on "
            f"{_quote_pages(pages)}, {_how(set_by)}"
        )
        if evidence and evidence.sources:
            detail += f" ({_quote_pages(evidence.sources)})"
        if evidence and evidence.frames:
            detail += f", in a frame from {', '.join(sorted(evidence.frames))}"
        if entry.party == "third":
            detail += "; a third-party cookie: the middleware cannot remove it, hold back "
            detail += "the script or frame that sets it until consent"
        found.append(Finding(kind, entry.name, entry.domain, (phase,), detail + "."))
    return found


def _undeclared(entry: CookieEntry, policy: Policy | None, note: NoteSummary | None) -> Finding:
    where = "no policy file was given" if policy is None else f"{policy.source} does not declare it"
    if entry.phases:
        seen = phase_words(entry.phases)
        detail = f"Seen {seen} on {_quote_pages(entry.pages)}, {_how(entry.set_by)}; {where}"
    else:
        detail = f"Not reached by the crawl; {where}"
    if note is not None:
        times = "once" if note.count == 1 else f"{note.count} times"
        detail += (
            f"; seen by the middleware {times}, last on {note.last_path} "
            f"({note.last_seen.isoformat(timespec='seconds')})"
        )
    if entry.match is not None:
        detail += f"; matched as {_match_words(entry.match)}"
    detail += "; see policy-patch.yaml."
    return Finding("undeclared", entry.name, entry.domain, tuple(entry.phases), detail)


def _storage_breaches(entry: StorageEntry) -> list[Finding]:
    found = []
    what = f"The {entry.kind} key {entry.key}"
    what += (
        f" ({_match_words(entry.match)})"
        if entry.match
        else " (unknown: treated as needing consent)"
    )
    for kind, phase in _BREACHES:
        if phase in entry.phases:
            detail = f"{what} was present {PHASE_WORDS[phase]} in {entry.origin}."
            found.append(Finding(kind, entry.key, entry.origin, (phase,), detail))
    return found


def _unused(result: ScanResult, policy: Policy) -> list[Finding]:
    # The policy's own look-up decides which declaration a seen name resolves to, so a
    # glob shadowed by a more specific declaration for every name seen counts as unused.
    used = set()
    for entry in result.cookies:
        resolved = policy.registry.lookup(entry.name)
        if resolved is not None:
            used.add(resolved.declaration)
    found = []
    pages = len(result.pages)
    for position, (category, declaration) in enumerate(policy.declarations):
        if position in used:
            continue
        kind = "glob" if declaration.is_glob else "cookie"
        detail = (
            f"Declared in {category} ({kind} {declaration.name}) but no cookie seen on the "
            f"{pages} page{'' if pages == 1 else 's'} scanned resolves to it; remove it, or it "
            "is set where the crawl did not go (after login, a form)."
        )
        found.append(
            Finding("unused_declaration", declaration.name, declaration.domain or "", (), detail)
        )
    return found
