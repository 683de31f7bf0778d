"""Google Consent Mode v2: the ``default`` command computed on the server.

The command must run before any Google tag, so the middleware puts it in the first
bytes of the page (right after ``<head>``); the banner script sends ``update``
after a choice, from the same mapping.
"""

from __future__ import annotations

import json
from typing import get_args

from ..policy.banner_settings import ConsentModeSettings, ConsentType
from ..policy.state import ConsentState

ALL_TYPES: tuple[ConsentType, ...] = get_args(ConsentType)


def effective_mapping(
    settings: ConsentModeSettings, categories: tuple[str, ...]
) -> dict[str, tuple[ConsentType, ...]]:
    """The mapping restricted to the file's categories, in file order."""
    return {name: settings.mapping[name] for name in categories if name in settings.mapping}


def consent_values(
    mapping: dict[str, tuple[ConsentType, ...]], granted: frozenset[str]
) -> dict[str, str]:
    """Every consent type: granted when any category mapped to it is granted."""
    values: dict[str, str] = dict.fromkeys(ALL_TYPES, "denied")
    for category, types in mapping.items():
        if category in granted:
            for consent_type in types:
                values[consent_type] = "granted"
    return values


def default_command(
    settings: ConsentModeSettings,
    mapping: dict[str, tuple[ConsentType, ...]],
    state: ConsentState,
) -> str:
    """JavaScript for ``gtag('consent','default',…)``; safe inside a ``<script>`` element.

    Undecided visitors (and GPC, which the state already reflects) get only their
    required categories; ``wait_for_update`` lets tags wait for the banner's ``update``.
    """
    values: dict[str, object] = dict(consent_values(mapping, state.granted))
    if not state.decided and settings.wait_for_update:
        values["wait_for_update"] = settings.wait_for_update
    payload = json.dumps(values, separators=(",", ":"))
    # json.dumps output holds no "<", so it cannot close the script element.
    return (
        "window.dataLayer=window.dataLayer||[];"
        "window.gtag=window.gtag||function(){dataLayer.push(arguments)};"
        f"gtag('consent','default',{payload});"
    )
