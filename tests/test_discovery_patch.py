"""``policy-patch.yaml``: declarations a person can merge, and trust where not marked."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from consent import Policy, policy_from_string
from consent.discovery.aggregate import aggregate
from consent.discovery.model import CookieEntry, Match, PhaseResult, ScanResult
from consent.discovery.patch import duration_words, family_stem, policy_patch
from tests.test_discovery_findings import (
    HOME,
    POLICY,
    POLICY_TEXT,
    SITE,
    WHEN,
    FakeClassifier,
    classifier,
    cookie,
    sample_results,
    scan,
)


def apply_patch(policy_text: str, patch_text: str) -> str:
    """What a person does with the patch, as its header says: each category's cookies
    appended to the category of the same name, a new category added whole."""
    data: dict[str, Any] = yaml.safe_load(policy_text)
    patch: dict[str, Any] = yaml.safe_load(patch_text)
    for name, category in (patch["categories"] or {}).items():
        if name in data["categories"]:
            data["categories"][name]["cookies"] += category["cookies"]
        else:
            data["categories"][name] = category
    return yaml.safe_dump(data, sort_keys=False)


def merge(policy_text: str, patch_text: str) -> Policy:
    return policy_from_string(apply_patch(policy_text, patch_text))


def declarations(patch_text: str) -> dict[str, dict[str, Any]]:
    """The proposed declarations by name, each with its category."""
    out = {}
    for category, body in yaml.safe_load(patch_text)["categories"].items():
        for item in body["cookies"]:
            out[item["name"]] = {**item, "category": category}
    return out


def test_merged_into_the_policy_it_declares_every_first_party_cookie_seen() -> None:
    result = scan()
    text = policy_patch(result, POLICY)
    merged = merge(POLICY_TEXT, text)
    undeclared = [e for e in result.cookies if e.declared is None and e.name != "consent"]
    assert undeclared  # the sample has some
    for entry in undeclared:
        if entry.party == "first":
            assert merged.category_of(entry.name) is not None, entry.name


def test_categories_and_evidence() -> None:
    text = policy_patch(scan(), POLICY)
    items = declarations(text)
    # A family the catalogue matched by prefix is one glob.
    assert items["_hjSessionUser_*"] == {
        "name": "_hjSessionUser_*",
        "description": "Visitor id",
        "duration": "session",
        "provider": "Hotjar",
        "domain": "example.com",
        "category": "analytics",
    }
    # A first-party cookie matched as necessary is proposed as required...
    assert items["__cf_bm"]["category"] == "necessary"
    # ... a third-party one never: it waits for consent, with the reason.
    assert items["IDE"]["category"] == "advertisement"
    assert "domain" not in items["IDE"]  # the middleware cannot expire another site's cookie
    # Unknown: an optional category, so the middleware holds it back until consent.
    assert items["mystery"]["category"] == "functional"
    assert "consent" not in items  # the consent cookie is the middleware's own
    lines = text.splitlines()
    at = lines.index("      - name: mystery")
    assert lines[at - 4].startswith("      # REVIEW: unknown: nothing matched it")
    assert lines[at - 3] == f"      # seen after reject all on {HOME}"
    assert lines[at - 2] == "      # set by Set-Cookie; domain www.example.com (first party)"
    assert lines[at - 1] == "      # matched by nothing"
    at = lines.index("      - name: _hjSessionUser_*")
    assert (
        "REVIEW: an unsure match (catalogue); a family, declared by its prefix: " in lines[at - 4]
    )
    assert "_hjSessionUser_123, _hjSessionUser_456" in lines[at - 4]


def test_new_categories_come_with_a_title() -> None:
    text = policy_patch(scan(), POLICY)
    data = yaml.safe_load(text)["categories"]
    assert list(data) == ["necessary", "analytics", "advertisement", "functional"]
    assert data["functional"]["title"] == "Functional"
    assert "title" not in data["analytics"]  # merged into the policy's own
    assert "  functional:  # new" in text.splitlines()


def test_a_third_party_cookie_is_never_proposed_as_required() -> None:
    results = [
        PhaseResult("before", [HOME], [cookie("before", "__cf_bm", ".vendor.net", set_by="http")])
    ]
    result = aggregate(results, SITE, classifier(), POLICY, scanned_at=WHEN)
    text = policy_patch(result, POLICY)
    assert declarations(text)["__cf_bm"]["category"] == "functional"
    assert "a third-party cookie is never proposed as required" in text


def test_without_a_policy_the_patch_is_a_policy() -> None:
    text = policy_patch(scan(policy=None), None)
    policy = policy_from_string(text)
    assert policy.required == frozenset({"necessary"})
    assert policy.category_of("sid") == "functional"  # unknown without a policy
    assert policy.category_of("_hjSessionUser_99") == "analytics"
    assert "No policy file was given" in text


def test_nothing_to_add() -> None:
    result = ScanResult(SITE, "2026-05-01T12:00:00+00:00")
    text = policy_patch(result, POLICY)
    assert yaml.safe_load(text) == {"categories": {}}
    assert "Nothing to add" in text


def entry(name: str, **extra: Any) -> CookieEntry:
    fields: dict[str, Any] = {
        "domain": "www.example.com",
        "path": "/",
        "party": "first",
        "phases": ["before"],
        "pages": [HOME],
    }
    return CookieEntry(name=name, **(fields | extra))


@pytest.mark.parametrize(
    "name", ["null", "yes", "*x", "-x", "a#b", "x: y", "'q'", "ünï", 'a"b', "&x", "@x", "%x"]
)
def test_names_are_written_safely(name: str) -> None:
    result = ScanResult(SITE, "now", cookies=[entry(name, pages=[HOME + "?q=\n- name: evil"])])
    text = policy_patch(result, POLICY)
    parsed = yaml.safe_load(text)["categories"]
    names = [item["name"] for body in parsed.values() for item in body["cookies"]]
    if policy_from_string_accepts(name):
        assert names == [name]
    else:
        # A name the policy file cannot hold is shown, commented out, not proposed.
        assert names == []
        assert "cannot be declared: " in text
    assert "evil" not in str(parsed)


def policy_from_string_accepts(name: str) -> bool:
    try:
        policy_from_string(
            yaml.safe_dump({"categories": {"a": {"title": "A", "cookies": [{"name": name}]}}})
        )
    except ValueError:
        return False
    return True


def test_domains_paths_and_durations() -> None:
    result = ScanResult(
        SITE,
        "now",
        cookies=[
            entry("pref", domain=".example.com", path="/shop", lifetime_s=86400 * 30),
            entry("both", domain=".example.com"),
            entry("both", domain="www.example.com"),
        ],
    )
    text = policy_patch(result, POLICY)
    items = declarations(text)
    assert items["pref"] | {"category": ""} == {
        "name": "pref",
        "duration": "30 days",
        "domain": "example.com",
        "path": "/shop",
        "category": "",
    }
    assert "domain" not in items["both"]
    assert (
        "REVIEW: unknown: nothing matched it, proposed as functional so that it waits for "
        "consent; set for several domains (.example.com, www.example.com)" in text
    )


def test_one_name_classified_two_ways_waits_for_consent() -> None:
    necessary = Match("necessary", "catalogue", "cdn", "CDN")
    result = ScanResult(
        SITE,
        "now",
        cookies=[
            entry("lb", match=necessary, path="/a"),
            entry("lb", domain=".cdn.net", party="third", match=necessary),
            entry("odd", match=Match("Not A Name", "heuristic", review=True)),
        ],
    )
    text = policy_patch(result, POLICY)
    items = declarations(text)
    assert items["lb"]["category"] == "functional"
    assert "seen as functional and necessary; proposed as functional" in text
    assert "set under several paths (/, /a)" in text
    assert items["odd"]["category"] == "functional"
    assert "REVIEW: an unsure match (heuristic); matched as 'Not A Name', not a category" in text


def test_unknown_cookies_go_to_an_optional_category() -> None:
    policy = policy_from_string(
        "categories:\n  functional:\n    title: F\n    required: true\n  stats:\n    title: S\n"
    )
    result = ScanResult(SITE, "now", cookies=[entry("x")])
    assert declarations(policy_patch(result, policy))["x"]["category"] == "stats"
    only_required = policy_from_string(
        "categories:\n  functional:\n    title: F\n    required: true\n"
    )
    text = policy_patch(result, only_required)
    assert declarations(text)["x"]["category"] == "optional"
    assert merge("categories:\n  functional:\n    title: F\n    required: true\n", text)


def test_families_need_a_prefix_match_or_two_names() -> None:
    prefix = Match("analytics", "open-cookie-database", "GA", "Google", review=True)
    result = ScanResult(
        SITE,
        "now",
        cookies=[
            entry("_gx_ABC123", match=prefix),  # one name, matched by prefix: a family
            entry("solo_123"),  # one unknown name: itself
            entry("wp-settings-1"),  # two unknown names of one stem: a family
            entry("wp-settings-2"),
            entry("mix_1", match=prefix),  # one stem, two categories: no glob
            entry("mix_2"),
        ],
    )
    names = set(declarations(policy_patch(result, POLICY)))
    assert names == {"_gx_*", "solo_123", "wp-settings-*", "mix_1", "mix_2"}


def test_a_glob_never_takes_a_declared_name() -> None:
    results = [
        PhaseResult(
            "before",
            [HOME],
            [cookie("before", "_old_1"), cookie("before", "_old_x1"), cookie("before", "_old_x2")],
        )
    ]
    policy = policy_from_string(POLICY_TEXT.replace('"_old_*"', "_old_1"))
    result = aggregate(results, SITE, FakeClassifier(policy), policy)
    # _old_x1 and _old_x2 make the family _old_*, which would take the declared _old_1
    # from its category (an exact name wins, but a person reads the glob as the family).
    assert set(declarations(policy_patch(result, policy))) == {"_old_x1", "_old_x2"}


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("_ga_ABC123", "_ga_"),
        ("_pk_id.1.1fff", "_pk_id."),
        ("_hjSessionUser_123", "_hjSessionUser_"),
        ("wp-settings-1", "wp-settings-"),
        ("_ga_ABCDEFGH", "_ga_"),
        ("__Secure-3PSID", None),
        ("_ga", None),
        ("1P_JAR", None),
        ("a_1", None),
    ],
)
def test_family_stem(name: str, stem: str | None) -> None:
    assert family_stem(name) == stem


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (None, "session"),
        (34560000, "400 days"),
        (86400, "1 day"),
        (7200, "2 hours"),
        (3599, "1 hour"),
        (86399, "1 day"),
        (5340, "89 minutes"),
        (15551999, "180 days"),
        (60, "1 minute"),
        (59, "1 minute"),  # a minute, read a second after it was set
        (30, "30 seconds"),
        (1, "1 second"),
    ],
)
def test_duration_words(seconds: int | None, words: str) -> None:
    assert duration_words(seconds) == words


def test_the_sample_scan_patch_is_stable() -> None:
    assert policy_patch(scan(), POLICY) == policy_patch(scan(results=sample_results()), POLICY)


def test_a_partitioned_cookie_is_declared_partitioned() -> None:
    # A withdrawal deletes a CHIPS cookie only with Partitioned: the patch must say so.
    chip = cookie("before", "chip", secure=True, partition="https://www.example.com")
    plain = cookie("before", "plain")
    results = [PhaseResult("before", pages=[HOME], cookies=[chip, plain])]
    result = aggregate(results, SITE, classifier(), POLICY, scanned_at=WHEN)
    entries = {entry.name: entry.as_json() for entry in result.cookies}
    assert (entries["chip"]["partitioned"], entries["plain"]["partitioned"]) == (True, False)
    items = declarations(policy_patch(result, POLICY))
    assert items["chip"]["partitioned"] is True
    assert "partitioned" not in items["plain"]
    declared = merge(POLICY_TEXT, policy_patch(result, POLICY)).declaration_of("chip")
    assert declared is not None
    assert declared[1].partitioned
