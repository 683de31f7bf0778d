"""The two policies compared: the example file, and the same file grown to 5,000 cookies.

The generated declarations look like what a big site accumulates (vendor prefixes,
ids and suffixes, a third of them ``*`` globs with literal prefixes of many lengths)
and are checked not to change the category of any cookie the benchmark sends, so
that both policies make exactly the same decisions and only the registry size differs.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

from consent import Policy, load_policy, policy_from_string
from consent.policy.config import RecordsSettings

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "consent.yaml"
LARGE_SIZE = 5000

_PREFIXES = (
    "_gcl_", "_uet", "_clck_", "mp_", "ajs_", "amplitude_", "_dd_", "AMCV_", "s_", "_sp_",
    "intercom-", "__hs", "optimizely", "ki_", "_li_", "_tt_", "_scid", "_pin_", "cto_",
    "_rdt_", "__qca", "_ym_", "tk_", "wp-", "_shopify_", "cart_", "_ce.", "_vwo_", "__kla_",
    "_om_", "__stripe_", "twtr_", "muc_", "NID_", "APISID_", "Optanon", "_lr_", "hubspot_",
    "drift_", "zd_",
)  # fmt: skip
_WORDS = (
    "session", "visitor", "id", "uid", "ref", "ses", "sync", "test", "token", "seg",
    "exp", "cmp", "last", "first", "click", "view", "page", "user", "geo", "ab",
)  # fmt: skip


def enforcement_only(policy: Policy) -> Policy:
    """``policy`` as the ratios measure it: cookie enforcement, nothing else.

    The goals compare enforcement with SessionMiddleware, which never touches a body;
    the banner rewrites HTML bodies, so it is measured on its own row
    (:func:`with_banner`). Recording only happens on the consent endpoints (the
    visitors' set-up POSTs, driven without the event loop recording needs) and has
    its own benchmark, bench.records.
    """
    config = policy.config
    update = {
        "records": RecordsSettings(enabled=False),
        "banner": config.banner.model_copy(update={"inject": False}),
    }
    return Policy(config.model_copy(update=update), source=policy.source)


def with_banner(policy: Policy) -> Policy:
    """The same policy with the banner injected into every HTML page (the default)."""
    config = policy.config
    update = {"banner": config.banner.model_copy(update={"inject": True})}
    return Policy(config.model_copy(update=update), source=policy.source)


def with_csp(policy: Policy) -> Policy:
    """The same policy with the consent-driven Content-Security-Policy on."""
    config = policy.config
    update = {"csp": config.csp.model_copy(update={"enabled": True})}
    return Policy(config.model_copy(update=update), source=policy.source)


def example_policy() -> Policy:
    return enforcement_only(load_policy(EXAMPLE))


def regional_policy() -> Policy:
    """The example policy with regimes on (issue 5): the geo header is read on every
    request and decides the mode; categories, cookies and texts are the example's, so
    the visitors' consent tokens stay valid."""
    regimes = "geo_header: CF-IPCountry\nregions:\n  US: notice\n  US-CA: opt-out\n  BR: opt-out\n"
    text = regimes + EXAMPLE.read_text(encoding="utf-8")
    return enforcement_only(policy_from_string(text, source="<example with regimes>"))


def large_policy(size: int = LARGE_SIZE, *, seed: int = 5000) -> Policy:
    """The example policy plus generated declarations, ``size`` in all, a third globs."""
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    categories: dict[str, Any] = data["categories"]
    existing = [cookie["name"] for c in categories.values() for cookie in c.get("cookies", [])]
    globs_wanted = size // 3 - sum("*" in name for name in existing)
    to_add = size - len(existing)
    rng = random.Random(seed)
    names = set(existing)
    category_names = list(categories)
    added = 0
    while added < to_add:
        prefix, word = rng.choice(_PREFIXES), rng.choice(_WORDS)
        ident = f"{rng.randrange(16**6):x}"
        if added < globs_wanted:
            # Literal prefixes of varied lengths, some with a second literal piece.
            name = rng.choice(
                (f"{prefix}{word}_{ident}*", f"{prefix}{ident}.*", f"{prefix}{ident}*_{word}")
            )
        else:
            name = f"{prefix}{word}_{ident}"
        if name in names:
            continue
        names.add(name)
        category = categories[category_names[added % len(category_names)]]
        category.setdefault("cookies", []).append(
            {"name": name, "description": f"Generated {word} cookie.", "provider": prefix}
        )
        added += 1
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return enforcement_only(policy_from_string(text, source=f"<generated {size} cookies>"))


def check_same_decisions(small: Policy, large: Policy, names: list[str]) -> None:
    """Refuse to compare policies that would not treat the benchmark's cookies alike."""
    for name in names:
        if small.category_of(name) != large.category_of(name):
            raise RuntimeError(
                f"the generated policy puts {name!r} in {large.category_of(name)!r}, "
                f"the example in {small.category_of(name)!r}"
            )
