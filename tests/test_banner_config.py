"""The ``banner:`` section is validated like the rest of the file."""

from __future__ import annotations

import pytest

from consent import ConfigError

from .banner_support import policy_with


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
