"""The policies the consent stacks run: the example file, grown to 5,000 cookies, with regimes.

Each is built from the example's YAML with only public names of ``consent``, so that
the benchmark keeps working while the package's insides move.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

from consent import Policy, load_policy, policy_from_string

from .cookies import SENT_NAMES

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "consent.yaml"
LARGE_SIZE = 5000
# Regimes by the visitor's country as Cloudflare sends it; US-CA is a subdivision read
# from the same header. With the consent-driven Content-Security-Policy on.
REGIMES_AND_CSP: dict[str, Any] = {
    "geo_header": "CF-IPCountry",
    "regions": {"US": "notice", "US-CA": "opt-out", "BR": "opt-out"},
    "csp": {"enabled": True},
}

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


def example_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return data


def example_policy() -> Policy:
    """``examples/consent.yaml`` as it is: the default configuration, banner injected."""
    return load_policy(EXAMPLE)


def regimes_csp_policy() -> Policy:
    data = {**REGIMES_AND_CSP, **example_data()}
    return policy_from_string(yaml.safe_dump(data, sort_keys=False), source="<regimes + CSP>")


def large_policy(size: int = LARGE_SIZE, *, seed: int = 5000) -> Policy:
    """The example plus generated declarations, ``size`` in all, a third of them globs.

    They look like what a big site accumulates: vendor prefixes, ids and suffixes, globs
    with literal prefixes of many lengths. The result is refused if it would put any
    cookie the benchmark sends in another category than the example does: both policies
    must make the same decisions, so that only the registry's size differs.
    """
    data = example_data()
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
    large = policy_from_string(text, source=f"<example grown to {size} cookies>")
    check_same_decisions(example_policy(), large, SENT_NAMES)
    return large


def check_same_decisions(small: Policy, large: Policy, names: tuple[str, ...]) -> None:
    """Refuse to compare policies that would not treat the benchmark's cookies alike."""
    for name in names:
        if small.category_of(name) != large.category_of(name):
            raise RuntimeError(
                f"the generated policy puts {name!r} in {large.category_of(name)!r}, "
                f"the example in {small.category_of(name)!r}"
            )
