"""Languages: Accept-Language, fallbacks, configured texts and right-to-left."""

from __future__ import annotations

import pytest

from consent.banner.i18n import BUILTIN, BUILTIN_CATEGORIES, TEXT_KEYS, negotiate
from consent.policy.banner_settings import BUILTIN_LANGUAGES

from .banner_support import centre, client, html_app, policy_with


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr"),
        ("de-DE", "de"),
        ("es, de;q=0.5", "de"),
        ("es, it", "en"),
        ("en;q=0.1, fr;q=0.2", "fr"),
        ("fr;q=0, de", "de"),
        ("*", "en"),
        ("fr;q=abc, de", "de"),
    ],
)
def test_negotiate(header: str | None, expected: str) -> None:
    assert negotiate(header, ("en", "fr", "de"), "en") == expected


def test_built_in_german_with_category_translations() -> None:
    c = client(html_app())
    text = c.get("/", headers={"accept-language": "de"}).text
    for phrase in ("Alle akzeptieren", "Alle ablehnen", "Anpassen"):
        assert phrase in text
    assert 'lang="de" dir="ltr"' in text
    opened = centre(c, headers={"accept-language": "de"})
    for phrase in ("Immer aktiv", "Analyse", "Alle akzeptieren"):
        assert phrase in opened


def test_configured_language_is_right_to_left_and_falls_back_per_string() -> None:
    policy = policy_with(
        "banner:\n"
        "  texts:\n"
        "    ar:\n"
        "      accept_all: قبول الكل\n"
        "      categories:\n"
        "        analytics: {title: التحليلات}\n"
        "    en:\n"
        "      title: Cookies on this shop\n"
    )
    c = client(html_app(), policy)
    text = c.get("/", headers={"accept-language": "ar-EG"}).text
    assert 'lang="ar" dir="rtl"' in text
    assert "قبول الكل" in text
    assert "التحليلات" in centre(c, headers={"accept-language": "ar-EG"})
    assert "Cookies on this shop" in text  # missing in Arabic: the default language's text
    assert "Reject all" in text


def test_languages_restricts_the_offer() -> None:
    policy = policy_with("banner:\n  default_language: de\n  languages: [de]\n")
    c = client(html_app(), policy)
    assert "Alle akzeptieren" in c.get("/", headers={"accept-language": "fr"}).text
    assert ">Analytics<" in centre(
        c, headers={"accept-language": "fr"}
    )  # the file's own title: it is written in the default language


def test_built_in_languages_are_complete() -> None:
    assert tuple(BUILTIN) == BUILTIN_LANGUAGES
    for texts in BUILTIN.values():
        assert tuple(texts) == TEXT_KEYS
    for categories in BUILTIN_CATEGORIES.values():
        assert set(categories) == {
            "necessary",
            "functional",
            "analytics",
            "performance",
            "advertisement",
        }
