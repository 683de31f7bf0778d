"""Classification from the policy, the catalogue, the Open Cookie Database and a
heuristic, in that order (consent/discovery/classify.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consent import policy_from_string
from consent.discovery.classify import Classifier
from consent.discovery.cookiedb import read_cookie_db
from consent.discovery.model import Match
from consent.policy.catalogue import load_catalogue

SAMPLE = Path(__file__).parent / "fixtures" / "open-cookie-database-sample.csv"

POLICY = """\
categories:
  necessary:
    title: Necessary
    required: true
    hosts: ["https://cdn.example.net:8443"]
    cookies:
      - name: sessionid
      - name: _fbp
      - name: shop_cart
        description: What is in the basket.
        provider: this site
  analytics:
    title: Analytics
    hosts: ["*.tracker.example", www.googletagmanager.com]
    cookies:
      - name: "_ga*"
        description: Our analytics.
      - name: _hjNewThing
      - name: acme_id
  advertisement:
    title: Advertisement
    hosts: [cdn.example.net]
"""


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(policy_from_string(POLICY), load_catalogue(), read_cookie_db(SAMPLE))


@pytest.fixture(scope="module")
def bare() -> Classifier:
    """No policy yet, and no copy of the Open Cookie Database."""
    return Classifier(None, load_catalogue(), None)


# -- 1. the policy --------------------------------------------------------------------


def test_declared(classifier: Classifier, bare: Classifier) -> None:
    assert classifier.declared("sessionid") == "necessary"
    assert classifier.declared("_ga_ABC123") == "analytics"
    assert classifier.declared("_fbc") is None
    assert bare.declared("sessionid") is None


def test_a_declared_cookie_carries_what_the_catalogue_knows(classifier: Classifier) -> None:
    assert classifier.cookie("_ga_ABC123", ".example.com") == Match(
        category="analytics",
        source="policy",
        service="google-analytics-4",
        provider="Google",
        review=False,
        description="Our analytics.",  # the policy's own words come first
    )


def test_the_declaration_s_provider_and_description_come_first(classifier: Classifier) -> None:
    assert classifier.cookie("shop_cart", "shop.example") == Match(
        category="necessary",
        source="policy",
        service=None,
        provider="this site",
        description="What is in the basket.",
    )


def test_a_declared_cookie_the_catalogue_knows_by_exact_name(classifier: Classifier) -> None:
    match = classifier.cookie("sessionid", "www.example.com")
    assert match is not None
    assert (match.source, match.category, match.service, match.review) == (
        "policy",
        "necessary",
        "django",
        False,
    )
    assert match.description  # the catalogue's, since the policy gives none


def test_a_tracker_declared_required_is_marked_for_review(classifier: Classifier) -> None:
    # The policy lets _fbp through before any choice; the catalogue says advertisement.
    match = classifier.cookie("_fbp", ".example.com")
    assert match is not None
    assert (match.source, match.category, match.service, match.review) == (
        "policy",
        "necessary",
        "meta-pixel",
        True,
    )


def test_a_broad_catalogue_prefix_does_not_name_a_declared_cookie(
    classifier: Classifier,
) -> None:
    # `_hj*` would say Hotjar, but the site declared this one: too weak to name it.
    match = classifier.cookie("_hjNewThing", None)
    assert match == Match(category="analytics", source="policy")


# -- 2. the catalogue ----------------------------------------------------------------------


def test_an_undeclared_cookie_from_the_catalogue(classifier: Classifier) -> None:
    match = classifier.cookie("_fbc", ".example.com")
    assert match is not None
    assert (match.source, match.category, match.service, match.provider, match.review) == (
        "catalogue",
        "advertisement",
        "meta-pixel",
        "Meta",
        False,
    )


def test_a_catalogue_match_on_a_broad_prefix_is_marked_for_review(bare: Classifier) -> None:
    match = bare.cookie("_hjBrandNew", None)
    assert match is not None
    assert (match.source, match.service, match.review) == ("catalogue", "hotjar", True)


def test_the_catalogue_comes_before_the_database(classifier: Classifier) -> None:
    # The sample database files __cf_bm under Marketing; the catalogue answers first.
    cf = classifier.cookie("__cf_bm", ".example.com")
    assert cf is not None
    assert (cf.source, cf.category, cf.service) == ("catalogue", "necessary", "cloudflare")
    uid = classifier.cookie("uid", ".adnet.example")
    assert uid is not None
    assert (uid.source, uid.service) == ("open-cookie-database", "AdNet")


# -- 3. the Open Cookie Database -------------------------------------------------------


def test_a_cookie_only_the_database_knows(classifier: Classifier, bare: Classifier) -> None:
    match = classifier.cookie("acme_ses_42", ".example.com")
    assert match is not None
    assert (match.source, match.category, match.service, match.review) == (
        "open-cookie-database",
        "analytics",
        "Acme Analytics",
        True,  # a prefix match
    )
    assert bare.cookie("acme_ses_42", ".example.com") is None


def test_the_policy_comes_before_the_database(classifier: Classifier) -> None:
    match = classifier.cookie("acme_id", None)
    assert match == Match(category="analytics", source="policy")


# -- 4. the heuristic ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "looks_like"),
    [
        ("_myshop_session", "a session"),  # Rails' _<app>_session
        ("ci_session", "a session"),
        ("sess_token", "a session"),
        ("legacy.phpsessid", "a session"),
        ("app-sessid", "a session"),
        ("csrf_cookie", "a CSRF token"),
        ("MyXsrfGuard", "a CSRF token"),
        ("cookie_consent_level", "a consent choice"),
    ],
)
def test_a_guess_from_the_name(bare: Classifier, name: str, looks_like: str) -> None:
    assert bare.cookie(name, "www.example.com") == Match(
        category="necessary",
        source="heuristic",
        review=True,
        description=f"Guessed from the name alone: it looks like {looks_like}.",
    )


@pytest.mark.parametrize(
    "name",
    [
        "risk_assessment",  # "sess" inside a word is not a session
        "obsession_id",
        "prefs",
        "uid",
        "x",
    ],
)
def test_no_guess_for_other_names(bare: Classifier, name: str) -> None:
    assert bare.cookie(name, "www.example.com") is None


def test_the_heuristic_guesses_what_the_database_does_not_know(classifier: Classifier) -> None:
    match = classifier.cookie("_myshop_session", "www.example.com")
    assert match is not None
    assert (match.source, match.category, match.review) == ("heuristic", "necessary", True)


def test_the_database_comes_before_the_heuristic(classifier: Classifier) -> None:
    # "lk_session" looks like a session, but the database files it under Marketing.
    match = classifier.cookie("lk_session", None)
    assert match is not None
    assert (match.source, match.category) == ("open-cookie-database", "advertisement")


# -- storage keys and hosts ----------------------------------------------------------------


def test_storage_keys(classifier: Classifier, bare: Classifier) -> None:
    recaptcha = classifier.storage("rc::c")
    assert recaptcha is not None
    assert (recaptcha.source, recaptcha.service, recaptcha.category) == (
        "catalogue",
        "recaptcha",
        "necessary",
    )
    stored = classifier.storage("store_key")
    assert stored is not None
    assert (stored.source, stored.service) == (
        "open-cookie-database",
        "Storage Co",
    )
    assert bare.storage("store_key") is None
    # No guesses for storage keys: a key is not a server's session cookie.
    assert classifier.storage("session_state") is None


@pytest.mark.parametrize(
    ("host", "category", "service", "review"),
    [
        ("cdn.example.net", "necessary", None, False),  # scheme and port dropped
        ("a.tracker.example", "analytics", None, False),
        ("x.y.tracker.example", "analytics", None, False),
        ("www.googletagmanager.com", "analytics", "google-tag-manager", False),
    ],
)
def test_hosts_the_policy_declares(
    classifier: Classifier, host: str, category: str, service: str | None, review: bool
) -> None:
    match = classifier.host(host)
    assert match is not None
    assert (match.source, match.category, match.service, match.review) == (
        "policy",
        category,
        service,
        review,
    )


def test_a_tracker_host_declared_required_is_marked_for_review() -> None:
    policy = policy_from_string(
        "categories:\n  necessary:\n    title: N\n    required: true\n"
        "    hosts: [connect.facebook.net]\n"
    )
    match = Classifier(policy, load_catalogue(), None).host("connect.facebook.net")
    assert match is not None
    assert (match.source, match.service, match.review) == ("policy", "meta-pixel", True)


def test_hosts_from_the_catalogue(classifier: Classifier) -> None:
    match = classifier.host("js.stripe.com")
    assert match is not None
    assert (match.source, match.category, match.service) == ("catalogue", "necessary", "stripe")
    shared = classifier.host("www.google.com")
    assert shared is not None
    assert (shared.service, shared.review) == ("recaptcha", True)
    assert classifier.host("tracker.example") is None  # *.tracker.example: sub-domains only
    assert classifier.host("unknown.example.org") is None
