"""A category's ``services:`` expands to the catalogue's cookies and hosts."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from consent import ConfigError, policy_from_string
from consent.cli import main
from consent.policy import config
from consent.policy.catalogue import catalogue_from_string, load_catalogue

BASE = """\
categories:
  necessary:
    title: Necessary
    required: true
  analytics:
    title: Analytics
"""


def test_a_service_brings_its_cookies_and_hosts() -> None:
    policy = policy_from_string(BASE + "    services: [google-analytics-4]\n")
    analytics = policy.config.categories["analytics"]
    service = load_catalogue().by_id("google-analytics-4")
    assert service is not None
    assert {c.name for c in analytics.cookies} == {p.name for p in service.cookies}
    assert all(c.service == "google-analytics-4" for c in analytics.cookies)
    assert all(c.provider == service.provider for c in analytics.cookies)
    assert set(service.hosts) <= set(analytics.hosts)
    # Enforced like any declaration: a glob of the service matches.
    assert policy.category_of("_ga_ABC123") == "analytics"


def test_what_the_file_declares_itself_wins() -> None:
    text = BASE + (
        "    services: [google-analytics-4]\n"
        "    cookies:\n      - name: _ga\n        description: our own words\n"
        "    hosts: [www.googletagmanager.com]\n"
    )
    analytics = policy_from_string(text).config.categories["analytics"]
    [ga] = [c for c in analytics.cookies if c.name == "_ga"]
    assert (ga.description, ga.service) == ("our own words", None)
    assert analytics.hosts[0] == "www.googletagmanager.com"
    assert len(analytics.hosts) == len(set(analytics.hosts))


def test_cookies_tied_to_the_service_s_own_domain_are_left_out() -> None:
    meta = load_catalogue().by_id("meta-pixel")
    assert meta is not None
    tied = {p.name for p in meta.cookies if p.domain is not None}
    assert tied  # fr on facebook.com: never sent to this site
    text = BASE.replace("analytics", "advertisement") + "    services: [meta-pixel]\n"
    names = {c.name for c in policy_from_string(text).config.categories["advertisement"].cookies}
    assert names
    assert not names & tied


@pytest.mark.parametrize(
    ("services", "message"),
    [
        ("[google-analytic-4]", "did you mean 'google-analytics-4'"),
        ("[nothing-like-it-at-all]", "unknown service 'nothing-like-it-at-all'"),
        ("[42]", "unknown service 42"),
    ],
)
def test_an_unknown_service_names_key_and_line(services: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        policy_from_string(BASE + f"    services: {services}\n")
    assert caught.value.key == "categories.analytics.services[0]"
    assert caught.value.line == 7
    assert message in str(caught.value)


def test_a_service_cookie_declared_in_another_category_is_an_error() -> None:
    text = BASE.replace(
        "    required: true\n", "    required: true\n    cookies:\n      - name: _ga\n"
    ) + ("    services: [google-analytics-4]\n")
    with pytest.raises(ConfigError) as caught:
        policy_from_string(text)
    # Pointed at the entry of the file that brought it, not at a key the file lacks.
    assert caught.value.key == "categories.analytics.services[0]"
    assert caught.value.line == 9
    assert "'_ga' (brought by service 'google-analytics-4') is declared twice" in str(caught.value)


def test_a_service_listed_twice_and_an_unknown_service_key_are_refused() -> None:
    with pytest.raises(ConfigError, match="'hotjar' is listed twice") as caught:
        policy_from_string(BASE + "    services: [hotjar, hotjar]\n")
    assert caught.value.key == "categories.analytics.services[1]"
    cookie = "    cookies:\n      - name: mine\n        service: made-up\n"
    with pytest.raises(ConfigError, match="unknown service 'made-up'") as caught:
        policy_from_string(BASE + cookie)
    assert caught.value.key == "categories.analytics.cookies[0].service"


def test_a_catalogue_change_asks_everyone_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a service brings is part of what visitors consented to: a new release whose
    # catalogue words a service otherwise changes the taxonomy, as an edit of the file would.
    text = BASE + "    services: [google-analytics-4]\n"
    before = policy_from_string(text).taxonomy
    shipped = resources.files("consent.policy").joinpath("catalogue.yaml").read_text()
    service = load_catalogue().by_id("google-analytics-4")
    assert service is not None
    reworded = catalogue_from_string(shipped.replace(service.description, "Reworded."))
    monkeypatch.setattr(config, "load_catalogue", lambda: reworded)
    assert policy_from_string(text).taxonomy != before


def test_consent_check_shows_what_each_service_brought(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(BASE + "    services: [google-analytics-4, hotjar]\n")
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "services (from the catalogue):" in out
    assert "analytics: google-analytics-4: 2 cookies; hosts: " in out
    assert "analytics: hotjar: " in out
    ga_row = next(line for line in out.splitlines() if line.split()[:2] == ["analytics", "_ga"])
    assert ga_row.split()[-1] == "google-analytics-4"
