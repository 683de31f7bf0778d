"""The ``banner:`` section of the policy file: delivery, texts, languages, Consent Mode.

Kept apart from ``config.py`` so the banner's options read as one unit. Every
text is plain data (rule 11): it is autoescaped when rendered and never
evaluated as a template.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt

BUILTIN_LANGUAGES = ("en", "fr", "de")  # the texts in consent/banner/i18n.py
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")

ConsentType = Literal[
    "ad_storage",
    "ad_user_data",
    "ad_personalization",
    "analytics_storage",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
]

# The default: what each standard category means to Google's tags.
DEFAULT_CONSENT_MODE_MAPPING: dict[str, tuple[ConsentType, ...]] = {
    "necessary": ("security_storage",),
    "functional": ("functionality_storage", "personalization_storage"),
    "analytics": ("analytics_storage",),
    "advertisement": ("ad_storage", "ad_user_data", "ad_personalization"),
}


def _language(value: str) -> str:
    value = value.strip().lower().replace("_", "-")
    if not _LANGUAGE.match(value):
        raise ValueError("a language is a BCP 47 tag such as 'en', 'fr', 'pt-br' or 'ar'")
    return value


def _link(value: str) -> str:
    """Rule 11: only http(s) or a relative link may reach an ``href``."""
    value = value.strip()
    scheme = _SCHEME.match(value)
    if scheme is not None and scheme.group(1).lower() not in ("http", "https"):
        raise ValueError("a link must be https://, http:// or a relative path such as /privacy")
    if value.startswith(("//", "\\", "/\\")) or any(ord(c) < 0x20 for c in value) or not value:
        raise ValueError("a link must be https://, http:// or a relative path such as /privacy")
    return value


Language = Annotated[str, AfterValidator(_language)]
# A visible string: never empty (an empty button has no accessible name).
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Link = Annotated[str, AfterValidator(_link)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CategoryText(_Model):
    """A category's title and description in one language."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None


class BannerTexts(_Model):
    """Every visible string of the banner in one language; unset ones use the built-ins."""

    title: Text | None = None
    description: Text | None = None
    accept_all: Text | None = None
    reject_all: Text | None = None
    customise: Text | None = None
    preferences_title: Text | None = None
    preferences_description: Text | None = None
    save: Text | None = None
    always_active: Text | None = None
    no_cookies: Text | None = None
    show_cookies: Text | None = None
    cookie: Text | None = None
    provider: Text | None = None
    duration: Text | None = None
    cookie_description: Text | None = None
    close: Text | None = None
    settings: Text | None = None
    privacy_policy: Text | None = None
    receipt: Text | None = None
    gpc_applied: Text | None = None  # shown while Sec-GPC: 1 applies (docs/gpc.md)
    categories: dict[str, CategoryText] = {}


class ConsentModeSettings(_Model):
    """Google Consent Mode v2: off unless ``enabled``."""

    # Strict like every switch and number of the file: 'yes' or '100' is refused, not guessed.
    enabled: StrictBool = False
    mapping: dict[str, tuple[ConsentType, ...]] = DEFAULT_CONSENT_MODE_MAPPING
    wait_for_update: StrictInt = Field(default=500, ge=0, le=10_000)


class BannerSettings(_Model):
    """What the visitor sees and how it reaches the page."""

    inject: StrictBool = True
    settings_button: StrictBool = True
    default_language: Language = "en"
    languages: tuple[Language, ...] | None = None
    privacy_policy_url: Link | None = None
    texts: dict[Language, BannerTexts] = {}
    consent_mode: ConsentModeSettings = ConsentModeSettings()
