"""The service catalogue (consent/policy/catalogue.py and catalogue.yaml)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from consent import ConfigError, policy_from_string
from consent.policy.catalogue import Catalogue, catalogue_from_string, load_catalogue

REAL_DB = Path("/work/shared/data/open-cookie-database/open-cookie-database.csv")

# The services issue 13 names, by the id a policy's `services:` uses.
NAMED_IN_THE_ISSUE = [
    "google-analytics-4",
    "google-tag-manager",
    "google-ads",
    "meta-pixel",
    "matomo",
    "hotjar",
    "microsoft-clarity",
    "linkedin-insight",
    "tiktok-pixel",
    "youtube",
    "vimeo",
    "stripe",
    "cloudflare",
    "intercom",
    "hubspot",
    "shopify",
    "wordpress",
    "django",
    "ruby-on-rails",
    "php",
    "laravel",
    "recaptcha",
]

SERVICE = """\
  - id: {id}
    name: {name}
    provider: Example
    category: analytics
    description: A service for a test.
    duration: 1 day
"""


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def _catalogue(*services: str) -> Catalogue:
    return catalogue_from_string("services:\n" + "".join(services), file="test.yaml")


def test_the_shipped_catalogue_loads_once_and_is_large_enough(catalogue: Catalogue) -> None:
    assert load_catalogue() is catalogue
    assert len(catalogue.services) >= 45
    categories = {service.category for service in catalogue.services}
    assert categories == {"necessary", "functional", "analytics", "performance", "advertisement"}


@pytest.mark.parametrize("service_id", NAMED_IN_THE_ISSUE)
def test_every_service_the_issue_names_is_there(catalogue: Catalogue, service_id: str) -> None:
    service = catalogue.by_id(service_id)
    assert service is not None
    assert service.id == service_id


def test_an_unknown_id_is_none(catalogue: Catalogue) -> None:
    assert catalogue.by_id("google-analytics-5") is None


@pytest.mark.parametrize(
    ("name", "domain", "service_id"),
    [
        ("_ga", None, "google-analytics-4"),
        ("_ga_ABC123XYZ", ".example.com", "google-analytics-4"),
        ("_gid", None, "google-analytics-universal"),
        ("_gat_UA-123-1", None, "google-analytics-universal"),
        ("_gcl_au", None, "google-ads"),
        ("_gac_UA-123-1", None, "google-ads"),
        ("IDE", ".doubleclick.net", "google-ads"),
        ("_fbp", ".example.com", "meta-pixel"),
        ("_fbc", None, "meta-pixel"),
        ("fr", ".facebook.com", "meta-pixel"),
        ("fr", "www.facebook.com", "meta-pixel"),
        ("_pk_id.1.1fff", None, "matomo"),
        ("_hjSessionUser_123456", None, "hotjar"),
        ("_hjSession_123456", None, "hotjar"),
        ("_clck", None, "microsoft-clarity"),
        ("MUID", ".clarity.ms", "microsoft-clarity"),
        ("MUID", ".bing.com", "microsoft-advertising"),
        ("bcookie", ".www.linkedin.com", "linkedin-insight"),
        ("_ttp", None, "tiktok-pixel"),
        ("YSC", ".youtube.com", "youtube"),
        ("vuid", ".vimeo.com", "vimeo"),
        ("__stripe_mid", None, "stripe"),
        ("__stripe_sid", None, "stripe"),
        ("__cf_bm", None, "cloudflare"),
        ("cf_clearance", None, "cloudflare"),
        ("_cfuvid", None, "cloudflare"),
        ("intercom-session-abc123", None, "intercom"),
        ("hubspotutk", None, "hubspot"),
        ("_shopify_y", None, "shopify-analytics"),
        ("cart", None, "shopify"),
        ("wordpress_logged_in_0123abcd", None, "wordpress"),
        ("wp-settings-time-1", None, "wordpress"),
        ("sessionid", None, "django"),
        ("csrftoken", None, "django"),
        ("PHPSESSID", None, "php"),
        ("laravel_session", None, "laravel"),
        ("XSRF-TOKEN", None, "laravel"),
        ("_GRECAPTCHA", None, "recaptcha"),
        ("JSESSIONID", "www.example.com", "java-servlet"),
        ("JSESSIONID", ".bam.nr-data.net", "new-relic"),  # bound to its domain, it wins
        ("SESSION", None, "java-servlet"),  # the exact name, before Drupal's SESS* prefix
    ],
)
def test_cookie_names(catalogue: Catalogue, name: str, domain: str | None, service_id: str) -> None:
    hit = catalogue.cookie(name, domain)
    assert hit is not None
    assert hit.service.id == service_id
    assert hit.review is False


@pytest.mark.parametrize(
    ("name", "domain"),
    [
        ("x_ga", None),  # never a substring
        ("my_fbp", None),
        ("_g", None),  # shorter than any name or prefix
        ("_fbpx", None),  # an exact name is not a prefix
        ("fr", None),  # Meta's only on facebook.com
        ("fr", "www.example.com"),
        ("fr", "notfacebook.com"),  # a domain is matched on label boundaries
        ("fr", "facebook.com.example.net"),
        ("MUID", None),
        ("totally_unknown", None),
    ],
)
def test_cookie_names_that_match_nothing(
    catalogue: Catalogue, name: str, domain: str | None
) -> None:
    assert catalogue.cookie(name, domain) is None


@pytest.mark.parametrize(
    ("name", "service_id"),
    [
        ("_hjBrandNewCookie", "hotjar"),  # `_hj*`: three characters catch too much
        ("mp_0123_mixpanel", "mixpanel"),  # `mp_*`
        ("SESS0123456789abcdef", "drupal"),  # marked review in the file
    ],
)
def test_broad_prefixes_are_marked_for_review(
    catalogue: Catalogue, name: str, service_id: str
) -> None:
    hit = catalogue.cookie(name)
    assert hit is not None
    assert (hit.service.id, hit.review) == (service_id, True)


def test_the_longest_prefix_wins(catalogue: Catalogue) -> None:
    # wordpress_* and wordpress_logged_in_* are both WordPress: build one where they differ.
    narrow = _catalogue(
        SERVICE.format(id="broad", name="Broad") + '    cookies: ["ab_*"]\n',
        SERVICE.format(id="narrow", name="Narrow") + '    cookies: ["ab_cd_*"]\n',
    )
    assert _service(narrow.cookie("ab_cd_1")) == "narrow"
    assert _service(narrow.cookie("ab_c")) == "broad"
    assert _service(catalogue.cookie("wordpress_sec_1")) == "wordpress"


def _service(hit: object) -> str | None:
    service = getattr(hit, "service", None)
    return None if service is None else str(service.id)


@pytest.mark.parametrize(
    ("key", "service_id"),
    [
        ("rc::a", "recaptcha"),
        ("_hjLocalStorageTest", "hotjar"),
        ("yt-remote-device-id", "youtube"),
        ("ajs_user_traits", "segment"),
        ("_uetvid", "microsoft-advertising"),
        ("wc_fragments_0123abc", "woocommerce"),
    ],
)
def test_storage_keys(catalogue: Catalogue, key: str, service_id: str) -> None:
    assert _service(catalogue.storage(key)) == service_id


def test_storage_keys_that_match_nothing(catalogue: Catalogue) -> None:
    assert catalogue.storage("my_app_state") is None
    assert catalogue.storage("xrc::a") is None


@pytest.mark.parametrize(
    ("host", "service_id", "review"),
    [
        ("www.googletagmanager.com", "google-tag-manager", False),
        ("WWW.GoogleTagManager.COM.", "google-tag-manager", False),
        ("region1.google-analytics.com", "google-analytics-4", False),
        ("ssl.google-analytics.com", "google-analytics-universal", False),  # exact beats *.
        ("connect.facebook.net", "meta-pixel", False),
        ("static.hotjar.com", "hotjar", False),
        ("js.stripe.com", "stripe", False),
        ("stripe.com", "stripe", False),
        ("m.stripe.network", "stripe", False),
        ("googleads.g.doubleclick.net", "google-ads", False),
        ("securepubads.g.doubleclick.net", "google-adsense", False),  # exact beats *.
        ("www.google.com", "recaptcha", True),  # shared by several Google services
        ("www.gstatic.com", "recaptcha", True),
        ("www.recaptcha.net", "recaptcha", False),
    ],
)
def test_hosts(catalogue: Catalogue, host: str, service_id: str, review: bool) -> None:
    hit = catalogue.host(host)
    assert hit is not None
    assert (hit.service.id, hit.review) == (service_id, review)


@pytest.mark.parametrize(
    "host",
    [
        "notstripe.com",  # never a substring
        "stripe.com.evil.example",
        "hotjar.com",  # *.hotjar.com is its sub-domains only
        "www.example.com",
        "com",
    ],
)
def test_hosts_that_match_nothing(catalogue: Catalogue, host: str) -> None:
    assert catalogue.host(host) is None


def test_the_nearest_wildcard_domain_wins() -> None:
    catalogue = _catalogue(
        SERVICE.format(id="parent", name="Parent") + '    hosts: ["*.example.com"]\n',
        SERVICE.format(id="child", name="Child") + '    hosts: ["*.cdn.example.com"]\n',
    )
    assert _service(catalogue.host("a.cdn.example.com")) == "child"
    assert _service(catalogue.host("cdn.example.com")) == "parent"


def test_every_catalogue_name_and_host_is_valid_in_a_policy(catalogue: Catalogue) -> None:
    # A policy's `services:` expands to these: each must pass the policy's own checks.
    hosts = sorted({h for s in catalogue.services for h in (*s.hosts, *s.shared_hosts)})
    names = sorted({cookie.name for s in catalogue.services for cookie in s.cookies})
    text = "categories:\n  all:\n    title: All\n    hosts:\n"
    text += "".join(f'      - "{host}"\n' for host in hosts)
    text += "    cookies:\n" + "".join(f'      - name: "{name}"\n' for name in names)
    policy = policy_from_string(text)
    assert len(policy.declarations) == len(names)


def _phrases(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i : i + 6]) for i in range(len(words) - 5)}


@pytest.mark.skipif(not REAL_DB.exists(), reason="no copy of the Open Cookie Database here")
def test_no_description_is_taken_from_the_open_cookie_database(catalogue: Catalogue) -> None:
    # Its descriptions are someone else's text: not even six words in a row are shared.
    theirs: set[tuple[str, ...]] = set()
    with REAL_DB.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            theirs |= _phrases(row["Description"])
    for service in catalogue.services:
        assert not _phrases(service.description) & theirs, service.id


# -- a broken catalogue is refused at load, naming the key and line ----------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('    cookies: ["*"]\n', r"services\[0\]\.cookies\[0\].*a prefix of at least 2"),
        ('    cookies: ["a*b"]\n', r"services\[0\]\.cookies\[0\].*'\*' nowhere else"),
        ('    cookies: ["has space"]\n', "no spaces"),
        ("    cookies: [{name: fr, domain: .facebook.com}]\n", "no leading dot"),
        ('    hosts: ["https://cdn.example.com"]\n', "no scheme"),
        ('    hosts: ["example.com/path"]\n', "no scheme, port or path"),
        ('    storage: ["a key"]\n', r"services\[0\]\.storage\[0\]"),
        ("    colour: blue\n", r"services\[0\]\.colour"),
        ("    cookies: _ga\n", r"services\[0\]\.cookies: .*tuple"),
    ],
)
def test_invalid_entries_are_refused(extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        _catalogue(SERVICE.format(id="one", name="One") + extra)
    assert raised.value.file == "test.yaml"
    assert raised.value.line is not None
    assert raised.value.line >= 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "Not A Slug"),
        ("category", "marketing"),
        ("description", "'" + "x" * 201 + "'"),
        ("description", '" padded "'),
        ("name", '""'),
    ],
)
def test_invalid_fields_are_refused(field: str, value: str) -> None:
    text = SERVICE.format(id="one", name="One")
    lines = [
        line.split(":")[0] + f": {value}" if line.lstrip(" -").startswith(f"{field}:") else line
        for line in text.splitlines()
    ]
    with pytest.raises(ConfigError, match=rf"services\[0\]\.{field}"):
        _catalogue("\n".join(lines) + "\n")


def test_a_missing_field_is_named() -> None:
    text = SERVICE.format(id="one", name="One").replace("    duration: 1 day\n", "")
    with pytest.raises(ConfigError, match=r"services\[0\]\.duration: this key is required"):
        _catalogue(text)


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("", "", "the id 'one' is used twice"),
        ('    cookies: ["x_id"]\n', '    cookies: ["x_id"]\n', "'x_id' is already listed by 'one'"),
        ('    cookies: ["x_*"]\n', '    cookies: ["x_*"]\n', "'x_\\*' is already listed"),
        (
            "    cookies: [{name: x, domain: a.com}]\n",
            "    cookies: [{name: x, domain: a.com}]\n",
            "'x' on a.com is already listed",
        ),
        ("    storage: [k]\n", "    storage: [k]\n", "'k' is already listed"),
        ("    hosts: [a.example]\n", "    shared_hosts: [a.example]\n", "host 'a.example'"),
        ('    hosts: ["*.a.example"]\n', '    hosts: ["*.a.example"]\n', "host '\\*.a.example'"),
    ],
)
def test_one_owner_per_name_key_and_host(first: str, second: str, message: str) -> None:
    same_id = "one" if not first else "two"
    with pytest.raises(ConfigError, match=message) as raised:
        _catalogue(
            SERVICE.format(id="one", name="One") + first,
            SERVICE.format(id=same_id, name="Two") + second,
        )
    assert raised.value.file == "test.yaml"


def test_one_name_on_different_domains_may_have_different_owners() -> None:
    catalogue = _catalogue(
        SERVICE.format(id="one", name="One") + "    cookies: [{name: x, domain: a.com}]\n",
        SERVICE.format(id="two", name="Two") + "    cookies: [{name: x, domain: b.com}, x]\n",
    )
    assert _service(catalogue.cookie("x", "www.a.com")) == "one"
    assert _service(catalogue.cookie("x", "b.com")) == "two"
    assert _service(catalogue.cookie("x", "c.com")) == "two"  # the unbound entry
    assert _service(catalogue.cookie("x")) == "two"


@pytest.mark.parametrize("text", ["", "services: []\n", "[1, 2]\n", "x: 1\n"])
def test_a_catalogue_without_services_is_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        catalogue_from_string(text)
