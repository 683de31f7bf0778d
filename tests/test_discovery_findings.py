"""From sightings to scan.json entries (``aggregate``) and to findings (``findings``).

The crawl is replaced by hand-built ``PhaseResult``s and the classifier by a small fake
with the same methods, so nothing here needs a browser. The other discovery tests import
``SITE``, ``POLICY``, ``FakeClassifier`` and ``sample_results`` from here.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from consent import Policy, policy_from_string
from consent.discovery.aggregate import NotesError, aggregate, read_notes
from consent.discovery.findings import DEFAULT_FAIL_ON, failing, findings
from consent.discovery.model import (
    CookieSighting,
    HostSighting,
    Match,
    Phase,
    PhaseResult,
    ScanResult,
    StorageSighting,
)

SITE = "https://www.example.com/"
HOME = "https://www.example.com/"
ABOUT = "https://www.example.com/about"
WHEN = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
# The policy of these tests and of test_discovery_patch.py.
POLICY_TEXT = """\
categories:
  necessary:
    title: Necessary
    required: true
    cookies:
      - name: sid
  analytics:
    title: Analytics
    cookies:
      - name: _ga
        domain: example.com
      - name: "_ga_*"
  advertisement:
    title: Advertisement
    cookies:
      - name: _fbp
      - name: "_old_*"
"""
POLICY = policy_from_string(POLICY_TEXT, source="consent.yaml")
HOTJAR = Match("analytics", "catalogue", "hotjar", "Hotjar", review=True, description="Visitor id")
CLOUDFLARE = Match("necessary", "open-cookie-database", "Cloudflare", "Cloudflare")
DOUBLECLICK = Match("advertisement", "catalogue", "Google Ads", "Google")
SEGMENT = Match("analytics", "catalogue", "Segment", "Twilio")


class FakeClassifier:
    """``classify.Classifier``'s methods: exact names, then the longest ``prefix*``."""

    def __init__(
        self,
        policy: Policy | None,
        cookies: dict[str, Match] | None = None,
        storage: dict[str, Match] | None = None,
        hosts: dict[str, Match] | None = None,
    ) -> None:
        self.policy = policy
        self.cookies = cookies if cookies is not None else {}
        self.storage_keys = storage if storage is not None else {}
        self.hosts = hosts if hosts is not None else {}

    def cookie(self, name: str, domain: str | None) -> Match | None:
        if name in self.cookies:
            return self.cookies[name]
        prefixes = [p for p in self.cookies if p.endswith("*") and name.startswith(p[:-1])]
        return self.cookies[max(prefixes, key=len)] if prefixes else None

    def storage(self, key: str) -> Match | None:
        return self.storage_keys.get(key)

    def host(self, host: str) -> Match | None:
        return self.hosts.get(host)

    def declared(self, name: str) -> str | None:
        return self.policy.category_of(name) if self.policy is not None else None


def classifier(policy: Policy | None = POLICY) -> FakeClassifier:
    return FakeClassifier(
        policy,
        cookies={"_hjSessionUser_*": HOTJAR, "__cf_bm": CLOUDFLARE, "IDE": DOUBLECLICK},
        storage={"ajs_user_id": SEGMENT},
        hosts={"ad.doubleclick.net": DOUBLECLICK},
    )


def cookie(
    phase: Phase, name: str, domain: str = "www.example.com", *, page: str = HOME, **extra: Any
) -> CookieSighting:
    return CookieSighting(phase=phase, page=page, name=name, domain=domain, **extra)


def sample_results() -> list[PhaseResult]:
    """A site that sets what a real one does, right and wrong, in the three phases."""
    before = PhaseResult(
        "before",
        pages=[HOME, ABOUT],
        cookies=[
            cookie("before", "sid", set_by="http", http_only=True, lifetime_s=None),
            cookie("before", "sid", http_only=True, secure=True, same_site="Lax"),
            cookie(
                "before",
                "_ga",
                ".example.com",
                set_by="js",
                lifetime_s=63072000,
                source_url="https://www.googletagmanager.com/gtag/js?id=G-1",
            ),
            cookie("before", "_ga", ".example.com", page=ABOUT, lifetime_s=34560000),
            cookie("before", "_hjSessionUser_123", ".example.com", set_by="js"),
            cookie(
                "before",
                "IDE",
                ".doubleclick.net",
                set_by="http",
                frame_url="https://ad.doubleclick.net/frame?x=1",
            ),
            cookie("before", "__cf_bm", ".example.com", set_by="http"),
        ],
        storage=[
            StorageSighting(
                "before", HOME, "localStorage", "https://www.example.com", "ajs_user_id"
            )
        ],
        hosts=[
            HostSighting("before", HOME, "ad.doubleclick.net", "script"),
            HostSighting("before", HOME, "static.example.com", "image"),
        ],
        screenshot=b"\x89PNG\r\n\x1a\nfake",
    )
    rejected = PhaseResult(
        "rejected",
        pages=[HOME],
        cookies=[
            cookie("rejected", "sid"),
            cookie("rejected", "consent", set_by="http"),
            cookie("rejected", "mystery", set_by="http"),
        ],
        hosts=[HostSighting("rejected", HOME, "cdn.vendor.net", "script")],
    )
    accepted = PhaseResult(
        "accepted",
        pages=[HOME, ABOUT],
        cookies=[
            cookie("accepted", "sid"),
            cookie("accepted", "consent", set_by="http"),
            cookie("accepted", "_ga", ".example.com", set_by="js"),
            cookie("accepted", "_ga", "www.example.com", set_by="js"),
            cookie("accepted", "_ga_ABC123", ".example.com", set_by="js", page=ABOUT),
            cookie("accepted", "_hjSessionUser_456", ".example.com", set_by="js"),
        ],
        storage=[
            StorageSighting(
                "accepted", HOME, "localStorage", "https://www.example.com", "ajs_user_id"
            )
        ],
        hosts=[HostSighting("accepted", HOME, "ad.doubleclick.net", "script")],
    )
    return [before, rejected, accepted]


def scan(policy: Policy | None = POLICY, results: list[PhaseResult] | None = None) -> ScanResult:
    results = sample_results() if results is None else results
    result = aggregate(results, SITE, classifier(policy), policy, scanned_at=WHEN)
    result.findings = findings(result, policy, sightings=results)
    return result


# -- aggregate ---------------------------------------------------------------------------------


def test_cookies_are_merged_per_name_domain_and_path() -> None:
    result = scan()
    keys = [(entry.name, entry.domain) for entry in result.cookies]
    assert keys == sorted(keys)
    # Host-only and domain cookies are different cookies: both are reported.
    assert ("_ga", ".example.com") in keys
    assert ("_ga", "www.example.com") in keys
    ga = next(e for e in result.cookies if (e.name, e.domain) == ("_ga", ".example.com"))
    assert ga.phases == ["before", "accepted"]
    assert ga.set_by == ["js"]
    assert ga.pages == [HOME, ABOUT]
    assert ga.party == "first"
    assert ga.declared == "analytics"


def test_attributes_come_from_the_jar_first() -> None:
    result = scan()
    ga = next(e for e in result.cookies if (e.name, e.domain) == ("_ga", ".example.com"))
    # The script asked for 2 years; the jar kept 400 days: the lifetime actually granted.
    assert ga.lifetime_s == 34560000
    sid = next(e for e in result.cookies if e.name == "sid")
    assert (sid.http_only, sid.secure, sid.same_site) == (True, True, "Lax")
    assert sid.set_by == ["http"]
    assert sid.phases == ["before", "rejected", "accepted"]


def test_party_match_and_hosts() -> None:
    result = scan()
    ide = next(e for e in result.cookies if e.name == "IDE")
    assert (ide.party, ide.match, ide.declared) == ("third", DOUBLECLICK, None)
    assert [host.host for host in result.third_party_hosts] == [
        "ad.doubleclick.net",
        "cdn.vendor.net",
    ]
    assert result.third_party_hosts[0].phases == ["before", "accepted"]
    assert result.third_party_hosts[0].match == DOUBLECLICK
    assert result.pages == [HOME, ABOUT]
    assert result.scanned_at == "2026-05-01T12:00:00+00:00"
    [storage] = result.storage
    assert (storage.key, storage.phases, storage.match) == (
        "ajs_user_id",
        ["before", "accepted"],
        SEGMENT,
    )


def test_pages_are_capped_and_sorted() -> None:
    pages = [f"{HOME}p{index:02}" for index in range(30)]
    random.Random(1).shuffle(pages)
    results = [PhaseResult("before", pages, [cookie("before", "sid", page=page) for page in pages])]
    [entry] = aggregate(results, SITE, classifier(), POLICY).cookies
    assert entry.pages == sorted(pages)[:20]


def test_the_same_sightings_in_another_order_give_the_same_json() -> None:
    first = scan().as_json()
    shuffled = sample_results()
    rng = random.Random(7)
    for phase in shuffled:
        rng.shuffle(phase.cookies)
        rng.shuffle(phase.storage)
        rng.shuffle(phase.hosts)
        rng.shuffle(phase.pages)
    assert scan(results=shuffled[::-1]).as_json() == first


# -- findings ----------------------------------------------------------------------------------


def kinds(result: ScanResult) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for finding in result.findings:
        out.setdefault(finding.kind, []).append(finding.name)
    return out


def test_findings_per_the_contract() -> None:
    found = kinds(scan())
    # _ga is declared analytics; _hjSessionUser_123 matched analytics; IDE (third party)
    # advertisement; ajs_user_id a storage key. sid is required and __cf_bm matched as
    # necessary: neither is a breach.
    assert found["before_consent"] == ["IDE", "_ga", "_hjSessionUser_123", "ajs_user_id"]
    # Nothing matched "mystery": unknown is not consented.
    assert found["after_reject"] == ["mystery"]
    assert found["undeclared"] == [
        "IDE",
        "__cf_bm",
        "_hjSessionUser_123",
        "_hjSessionUser_456",
        "mystery",
    ]
    assert found["unused_declaration"] == ["_fbp", "_old_*"]


def test_the_consent_cookie_is_never_a_finding() -> None:
    assert all(finding.name != "consent" for finding in scan().findings)


def test_details_quote_the_evidence() -> None:
    result = scan()
    by_key = {(f.kind, f.name, f.domain): f for f in result.findings}
    ga = by_key["before_consent", "_ga", ".example.com"]
    assert ga.phases == ("before",)
    assert ga.detail == (
        "The analytics cookie _ga was present before any choice on "
        f"{HOME}, {ABOUT}, set by a script (https://www.googletagmanager.com/gtag/js)."
    )
    ide = by_key["before_consent", "IDE", ".doubleclick.net"].detail
    assert "set by a Set-Cookie header, in a frame from https://ad.doubleclick.net" in ide
    assert "the middleware cannot remove it" in ide
    hotjar = by_key["before_consent", "_hjSessionUser_123", ".example.com"].detail
    assert "hotjar (Hotjar), analytics per the catalogue, to review" in hotjar
    storage = by_key["before_consent", "ajs_user_id", "https://www.example.com"].detail
    assert storage.startswith("The localStorage key ajs_user_id (Segment (Twilio), analytics")
    mystery = by_key["after_reject", "mystery", "www.example.com"].detail
    assert "unknown: treated as needing consent" in mystery
    undeclared = by_key["undeclared", "mystery", "www.example.com"]
    assert undeclared.phases == ("rejected",)
    assert "consent.yaml does not declare it" in undeclared.detail
    unused = by_key["unused_declaration", "_old_*", ""]
    assert unused.phases == ()
    assert "advertisement (glob _old_*)" in unused.detail


def test_a_shadowed_glob_is_unused() -> None:
    # _ga_ABC123 resolves to _ga_*, so that glob is used; a glob whose every seen name
    # resolves to a more specific declaration is not.
    policy = policy_from_string(
        "categories:\n  necessary:\n    title: N\n    required: true\n    cookies:\n"
        "      - name: s*\n      - name: sid\n"
    )
    results = [PhaseResult("before", [HOME], [cookie("before", "sid")])]
    result = aggregate(results, SITE, FakeClassifier(policy), policy)
    assert [(f.kind, f.name) for f in findings(result, policy)] == [("unused_declaration", "s*")]


def test_without_a_policy_every_cookie_is_undeclared() -> None:
    result = scan(policy=None)
    found = kinds(result)
    assert "unused_declaration" not in found
    assert "sid" in found["undeclared"]
    assert "consent" not in found["undeclared"]
    # Unknown without a policy: sid now needs consent like any other unmatched cookie.
    assert "sid" in found["before_consent"]
    assert "no policy file was given" in result.findings[-1].detail


def test_failing_keeps_the_chosen_kinds() -> None:
    result = scan()
    assert {f.kind for f in failing(result.findings, DEFAULT_FAIL_ON)} == {
        "before_consent",
        "after_reject",
    }
    assert failing(result.findings, ()) == []


def test_a_clean_site_has_no_findings() -> None:
    results = [
        PhaseResult(phase, [HOME], [cookie(phase, "sid")])
        for phase in ("before", "rejected", "accepted")
    ]
    policy = policy_from_string(
        "categories:\n  necessary:\n    title: N\n    required: true\n    cookies:\n"
        "      - name: sid\n"
    )
    assert scan(policy, results).findings == []


# -- the middleware's notes --------------------------------------------------------------------


def notes_file(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "notes.json"
    path.write_text(json.dumps(data))
    return path


NOTES = [
    {
        "name": "basket_ab",
        "first_seen": "2026-04-01T10:00:00+00:00",
        "last_seen": "2026-04-30T10:00:00+00:00",
        "count": 3,
        "path": "/basket",
        "kind": "request",
    },
    {
        "name": "basket_ab",
        "first_seen": "2026-04-02T10:00:00+00:00",
        "last_seen": "2026-04-29T10:00:00+00:00",
        "count": 2,
        "path": "/checkout",
        "kind": "response",
    },
    {
        "name": "mystery",
        "first_seen": "2026-04-02T10:00:00+00:00",
        "last_seen": "2026-04-29T10:00:00+00:00",
        "count": 1,
        "path": "/",
        "kind": "request",
    },
    {
        "name": "_fbp",
        "first_seen": "2026-04-02T10:00:00+00:00",
        "last_seen": "2026-04-29T10:00:00+00:00",
        "count": 1,
        "path": "/",
        "kind": "request",
    },
]


def test_notes_add_what_the_crawl_could_not_reach(tmp_path: Path) -> None:
    notes = read_notes(notes_file(tmp_path, NOTES))
    results = sample_results()
    result = aggregate(results, SITE, classifier(), POLICY, notes=notes)
    result.findings = findings(result, POLICY, sightings=results, notes=notes)
    [basket] = [entry for entry in result.cookies if entry.name == "basket_ab"]
    assert basket.as_json() | {"match": None} == {
        "name": "basket_ab",
        "domain": "www.example.com",
        "path": "/",
        "party": "first",
        "set_by": ["http"],
        "phases": [],
        "pages": ["/basket", "/checkout"],
        "http_only": None,
        "secure": None,
        "same_site": None,
        "lifetime_s": None,
        "partitioned": False,
        "declared": None,
        "match": None,
    }
    # The scan saw "mystery" itself (one entry), and _fbp is declared: no entry for either.
    assert [entry.name for entry in result.cookies].count("mystery") == 1
    assert "_fbp" not in [entry.name for entry in result.cookies]
    detail = {(f.kind, f.name): f.detail for f in result.findings}
    assert detail["undeclared", "basket_ab"].startswith(
        "Not reached by the crawl; consent.yaml does not declare it; seen by the middleware "
        "5 times, last on /basket (2026-04-30T10:00:00+00:00)"
    )
    assert "seen by the middleware once, last on /" in detail["undeclared", "mystery"]
    # A note does not make a cookie a breach: no phase saw it.
    assert ("before_consent", "basket_ab") not in detail


def test_notes_are_read_from_the_middlewares_own_file(tmp_path: Path) -> None:
    path = notes_file(tmp_path, {"version": 1, "writers": {}, "names": NOTES[:1]})
    [note] = read_notes(path)
    assert (note.name, note.count, note.kind) == ("basket_ab", 3, "request")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([{**NOTES[0], "count": "3"}], "item 0, count"),
        ([{**NOTES[0], "kind": "cookie"}], "item 0, kind"),
        ([{**NOTES[0], "last_seen": "yesterday"}], "item 0, last_seen"),
        ({"names": "x"}, "the file"),
    ],
)
def test_bad_notes_are_refused_with_the_item(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(NotesError, match=message):
        read_notes(notes_file(tmp_path, data))


def test_unreadable_notes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(NotesError, match="cannot read it"):
        read_notes(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(NotesError, match="not JSON"):
        read_notes(tmp_path / "bad.json")
