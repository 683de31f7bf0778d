"""The ``banner:`` section is validated like the rest of the file."""

from __future__ import annotations

import pytest

from consent import ConfigError, policy_from_string

from .banner_support import policy_with

SMALL = "categories:\n  analytics:\n    title: Analytics\n"


@pytest.mark.parametrize(
    ("yaml", "key", "fragment"),
    [
        (
            "banner:\n  privacy_policy_url: javascript:alert(1)\n",
            "banner.privacy_policy_url",
            "https",
        ),
        (
            "banner:\n  privacy_policy_url: //evil.example\n",
            "banner.privacy_policy_url",
            "relative",
        ),
        ("banner:\n  texts:\n    en:\n      titel: x\n", "banner.texts.en.titel", "unknown key"),
        ("banner:\n  texts:\n    en:\n      accept_all: ''\n", "banner.texts.en.accept_all", "1"),
        ("banner:\n  default_language: english!\n", "banner.default_language", "BCP 47"),
        ("banner:\n  default_language: es\n", "banner.default_language", "banner.texts.es"),
        (
            "banner:\n  languages: [fr, it]\n  texts: {es: {title: Hola}}\n",
            "banner.languages[1]",
            "no texts for language 'it'",
        ),
        (
            "banner:\n  texts:\n    fr:\n      categories:\n        ads: {title: Pub}\n",
            "banner.texts.fr.categories.ads",
            "no category 'ads'",
        ),
        (
            "banner:\n  consent_mode:\n    enabled: true\n    mapping:\n      ads: [ad_storage]\n",
            "banner.consent_mode.mapping.ads",
            "no category 'ads'",
        ),
        (
            "banner:\n  consent_mode:\n    mapping:\n      analytics: [analytics]\n",
            "banner.consent_mode.mapping.analytics[0]",
            "analytics_storage",
        ),
    ],
)
def test_bad_banner_settings_name_key_and_line(yaml: str, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        policy_with(yaml)
    assert info.value.key == key
    assert fragment in str(info.value)
    assert info.value.line is not None
    assert info.value.line > 20


def test_good_links_accepted() -> None:
    for link in ("https://example.com/privacy", "http://example.com", "/privacy", "privacy.html"):
        policy = policy_with(f"banner:\n  privacy_policy_url: '{link}'\n")
        assert policy.config.banner.privacy_policy_url == link


@pytest.mark.parametrize(
    ("yaml", "key", "line", "got"),
    [
        # Each was accepted: 'false' read as true, 0 as false, '100' as 100.
        ("banner:\n  inject: 'false'\n", "banner.inject", 2, "(got 'false')"),
        ("banner:\n  inject: 0\n", "banner.inject", 2, "(got 0)"),
        ("banner:\n  settings_button: 'no'\n", "banner.settings_button", 2, "(got 'no')"),
        (
            "banner:\n  consent_mode:\n    enabled: 'yes'\n",
            "banner.consent_mode.enabled",
            3,
            "(got 'yes')",
        ),
        (
            "banner:\n  consent_mode:\n    enabled: 1\n",
            "banner.consent_mode.enabled",
            3,
            "(got 1)",
        ),
        (
            "banner:\n  consent_mode:\n    wait_for_update: '100'\n",
            "banner.consent_mode.wait_for_update",
            3,
            "(got '100')",
        ),
        (
            "banner:\n  consent_mode:\n    wait_for_update: 100.0\n",
            "banner.consent_mode.wait_for_update",
            3,
            "(got 100.0)",
        ),
    ],
)
def test_switches_and_numbers_are_not_text(yaml: str, key: str, line: int, got: str) -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_string(yaml + SMALL, source="consent.yaml")
    assert (info.value.key, info.value.line) == (key, line)
    assert str(info.value).startswith(f"consent.yaml:{line}: {key}: ")
    assert got in str(info.value)


@pytest.mark.parametrize(
    ("yaml", "key", "line", "close", "allowed"),
    [
        (
            "banner:\n  injct: true\n",
            "banner.injct",
            2,
            "inject",
            "inject, settings_button, default_language, languages, privacy_policy_url, texts, "
            "consent_mode",
        ),
        (
            "banner:\n  consent_mode:\n    enabld: true\n",
            "banner.consent_mode.enabld",
            3,
            "enabled",
            "enabled, mapping, wait_for_update",
        ),
        (
            "banner:\n  texts:\n    fr:\n      categories:\n        a: {titel: T}\n",
            "banner.texts.fr.categories.a.titel",
            5,
            "title",
            "title, description",
        ),
    ],
)
def test_unknown_key_lists_the_keys_of_its_section(
    yaml: str, key: str, line: int, close: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_string(yaml + SMALL)
    assert (info.value.key, info.value.line) == (key, line)
    assert info.value.message == (
        f"unknown key; did you mean {close!r}? (keys allowed here: {allowed})"
    )


def test_banner_switches_and_numbers_as_written() -> None:
    text = (
        "banner:\n  inject: false\n  settings_button: false\n"
        "  consent_mode:\n    enabled: true\n    wait_for_update: 0\n" + SMALL
    )
    banner = policy_from_string(text).config.banner
    assert (banner.inject, banner.settings_button) == (False, False)
    assert (banner.consent_mode.enabled, banner.consent_mode.wait_for_update) == (True, 0)
