"""The banner's built-in texts (English, French, German) and language negotiation.

A string is looked up in this order: the file's ``banner.texts.<language>``, the
built-in ``<language>``, then the same two for ``default_language``, then English.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..policy.banner_settings import BannerSettings, BannerTexts
from ..policy.config import PolicyConfig

MAX_ACCEPT_LANGUAGE = 1024
# Primary subtags of scripts written right to left.
RTL_LANGUAGES = frozenset(
    {"ar", "arc", "ckb", "dv", "fa", "he", "ks", "ku", "ps", "sd", "ug", "ur", "yi"}
)

BUILTIN: dict[str, dict[str, str]] = {
    "en": {
        "title": "We value your privacy",
        "description": (
            "We use cookies to run this site. With your consent we also use them to remember "
            "your settings, measure visits and show relevant ads. You can change your choice "
            "at any time under “Cookie settings”."
        ),
        "accept_all": "Accept all",
        "reject_all": "Reject all",
        "customise": "Customise",
        "preferences_title": "Customise Consent Preferences",
        "preferences_description": (
            "We use cookies to help you navigate efficiently and perform certain functions. "
            "You will find detailed information about all cookies under each consent category "
            "below. Cookies categorised as “Necessary” are always stored because the site "
            "cannot work without them."
        ),
        "save": "Save my preferences",
        "always_active": "Always active",
        "no_cookies": "No cookies to display.",
        "show_cookies": "Cookies",
        "cookie": "Cookie",
        "provider": "Provider",
        "duration": "Duration",
        "cookie_description": "Description",
        "close": "Close",
        "settings": "Cookie settings",
        "privacy_policy": "Privacy policy",
        "receipt": "Your consent receipt",
        "gpc_applied": "Your browser’s privacy signal was applied.",
    },
    "fr": {
        "title": "Nous respectons votre vie privée",
        "description": (
            "Nous utilisons des cookies pour faire fonctionner ce site. Avec votre accord, nous "
            "les utilisons aussi pour mémoriser vos réglages, mesurer l’audience et afficher des "
            "publicités pertinentes. Vous pouvez changer d’avis à tout moment via « Paramètres "
            "des cookies »."
        ),
        "accept_all": "Tout accepter",
        "reject_all": "Tout refuser",
        "customise": "Personnaliser",
        "preferences_title": "Personnaliser vos préférences",
        "preferences_description": (
            "Nous utilisons des cookies pour vous aider à naviguer efficacement et à utiliser "
            "certaines fonctions. Vous trouverez ci-dessous le détail des cookies de chaque "
            "catégorie. Les cookies « Nécessaires » sont toujours déposés car le site ne peut "
            "pas fonctionner sans eux."
        ),
        "save": "Enregistrer mes préférences",
        "always_active": "Toujours actifs",
        "no_cookies": "Aucun cookie à afficher.",
        "show_cookies": "Cookies",
        "cookie": "Cookie",
        "provider": "Fournisseur",
        "duration": "Durée",
        "cookie_description": "Description",
        "close": "Fermer",
        "settings": "Paramètres des cookies",
        "privacy_policy": "Politique de confidentialité",
        "receipt": "Votre reçu de consentement",
        "gpc_applied": "Le signal de confidentialité de votre navigateur a été appliqué.",
    },
    "de": {
        "title": "Wir respektieren Ihre Privatsphäre",
        "description": (
            "Wir verwenden Cookies, um diese Website zu betreiben. Mit Ihrer Einwilligung "
            "verwenden wir sie auch, um Ihre Einstellungen zu speichern, Besuche zu messen und "
            "passende Werbung zu zeigen. Sie können Ihre Wahl jederzeit unter "
            "„Cookie-Einstellungen“ ändern."
        ),
        "accept_all": "Alle akzeptieren",
        "reject_all": "Alle ablehnen",
        "customise": "Anpassen",
        "preferences_title": "Einwilligungseinstellungen anpassen",
        "preferences_description": (
            "Wir verwenden Cookies, damit Sie effizient navigieren und bestimmte Funktionen "
            "nutzen können. Details zu allen Cookies finden Sie unten in jeder Kategorie. "
            "„Notwendige“ Cookies werden immer gespeichert, da die Website ohne sie nicht "
            "funktioniert."
        ),
        "save": "Meine Auswahl speichern",
        "always_active": "Immer aktiv",
        "no_cookies": "Keine Cookies vorhanden.",
        "show_cookies": "Cookies",
        "cookie": "Cookie",
        "provider": "Anbieter",
        "duration": "Dauer",
        "cookie_description": "Beschreibung",
        "close": "Schließen",
        "settings": "Cookie-Einstellungen",
        "privacy_policy": "Datenschutzerklärung",
        "receipt": "Ihr Einwilligungsnachweis",
        "gpc_applied": "Das Datenschutzsignal Ihres Browsers wurde angewendet.",
    },
}

# Titles and descriptions of the standard categories, used in a language other than the
# file's own when the file does not translate them.
BUILTIN_CATEGORIES: dict[str, dict[str, tuple[str, str]]] = {
    "fr": {
        "necessary": (
            "Nécessaires",
            "Les cookies nécessaires permettent les fonctions de base du site, comme la "
            "connexion sécurisée ou l’enregistrement de vos préférences de consentement. Ils ne "
            "stockent aucune donnée personnelle identifiable.",
        ),
        "functional": (
            "Fonctionnels",
            "Les cookies fonctionnels permettent certaines fonctions comme le partage de contenu "
            "sur les réseaux sociaux, la collecte d’avis et d’autres services tiers.",
        ),
        "analytics": (
            "Mesure d’audience",
            "Les cookies de mesure d’audience servent à comprendre comment les visiteurs "
            "utilisent le site : nombre de visiteurs, taux de rebond, source du trafic, etc.",
        ),
        "performance": (
            "Performance",
            "Les cookies de performance servent à analyser les indicateurs clés de performance "
            "du site afin d’offrir une meilleure expérience aux visiteurs.",
        ),
        "advertisement": (
            "Publicité",
            "Les cookies publicitaires servent à proposer des publicités adaptées aux pages "
            "visitées et à mesurer l’efficacité des campagnes.",
        ),
    },
    "de": {
        "necessary": (
            "Notwendig",
            "Notwendige Cookies ermöglichen Grundfunktionen der Website, etwa eine sichere "
            "Anmeldung oder das Speichern Ihrer Einwilligung. Sie speichern keine "
            "personenbezogenen Daten.",
        ),
        "functional": (
            "Funktional",
            "Funktionale Cookies ermöglichen bestimmte Funktionen wie das Teilen von Inhalten in "
            "sozialen Netzwerken, das Sammeln von Feedback und andere Dienste Dritter.",
        ),
        "analytics": (
            "Analyse",
            "Analyse-Cookies helfen zu verstehen, wie Besucher die Website nutzen: Anzahl der "
            "Besucher, Absprungrate, Herkunft der Besuche usw.",
        ),
        "performance": (
            "Leistung",
            "Leistungs-Cookies dienen der Auswertung wichtiger Leistungskennzahlen der Website, "
            "um Besuchern ein besseres Erlebnis zu bieten.",
        ),
        "advertisement": (
            "Werbung",
            "Werbe-Cookies dienen dazu, Besuchern auf die besuchten Seiten abgestimmte Werbung "
            "zu zeigen und die Wirksamkeit von Kampagnen zu messen.",
        ),
    },
}

TEXT_KEYS = tuple(BUILTIN["en"])


@dataclass(frozen=True, slots=True)
class CategoryTexts:
    name: str
    title: str
    description: str


@dataclass(frozen=True, slots=True)
class Texts:
    """Everything the banner shows in one language, resolved once."""

    language: str
    direction: str
    strings: Mapping[str, str]
    categories: Mapping[str, CategoryTexts]

    def __getitem__(self, key: str) -> str:
        return self.strings[key]


def direction_of(language: str) -> str:
    return "rtl" if language.split("-")[0] in RTL_LANGUAGES else "ltr"


def available_languages(settings: BannerSettings) -> tuple[str, ...]:
    """Languages offered: the configured list, else the built-ins plus every translated one."""
    if settings.languages is not None:
        return tuple(dict.fromkeys((settings.default_language, *settings.languages)))
    return tuple(dict.fromkeys((settings.default_language, *BUILTIN, *settings.texts)))


def negotiate(accept_language: str | None, languages: Iterable[str], default: str) -> str:
    """Pick a language from an ``Accept-Language`` header (RFC 4647 lookup, q-values)."""
    offered = tuple(languages)
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language[:MAX_ACCEPT_LANGUAGE].split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        tag = tag.strip().lower().replace("_", "-")
        if tag and quality > 0:
            ranked.append((-quality, index, tag))
    for _, _, tag in sorted(ranked):
        if tag == "*":
            return default
        while tag:
            if tag in offered:
                return tag
            tag = tag.rpartition("-")[0]
    return default


def resolve_texts(config: PolicyConfig, language: str) -> Texts:
    settings = config.banner
    default = settings.default_language
    empty = BannerTexts()
    layers = [
        settings.texts.get(language, empty).model_dump(exclude={"categories"}),
        BUILTIN.get(language, {}),
        settings.texts.get(default, empty).model_dump(exclude={"categories"}),
        BUILTIN.get(default, {}),
        BUILTIN["en"],
    ]
    strings = {}
    for key in TEXT_KEYS:
        strings[key] = next(layer[key] for layer in layers if layer.get(key) is not None)
    categories: dict[str, CategoryTexts] = {}
    configured = settings.texts.get(language, empty).categories
    builtin = BUILTIN_CATEGORIES.get(language, {}) if language != default else {}
    for name, category in config.categories.items():
        title, description = builtin.get(name, (category.title, category.description))
        own = configured.get(name)
        if own is not None:
            title = own.title if own.title is not None else title
            description = own.description if own.description is not None else description
        categories[name] = CategoryTexts(name, title, description)
    return Texts(language, direction_of(language), strings, categories)
