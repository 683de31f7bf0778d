"""The policy engine: categories, what a choice grants, and the cookie registry.

``Policy`` is the compiled, immutable form of the YAML file. It knows nothing about
HTTP; the middleware and endpoints ask it questions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from ..errors import ConfigError
from .config import Category, CookieDeclaration, PolicyConfig, config_from_string, load_config
from .registry import Registry
from .state import ConsentState, Mode
from .taxonomy import equivalent_texts, structure_hash, texts_hash

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class Policy:
    """Compiled consent policy. Build it with :func:`load_policy`."""

    def __init__(self, config: PolicyConfig, *, source: str = "<config>") -> None:
        self.config = config
        self.source = source
        self.category_names: tuple[str, ...] = tuple(config.categories)
        self.categories: dict[str, Category] = dict(config.categories)
        self._bit = {name: 1 << index for index, name in enumerate(self.category_names)}
        self.required: frozenset[str] = frozenset(
            name for name, category in config.categories.items() if category.required
        )
        self.required_mask = self.mask_of(self.required)
        self.all_mask = (1 << len(self.category_names)) - 1
        self.optional_mask = self.all_mask & ~self.required_mask
        self.optional: tuple[str, ...] = tuple(
            name for name in self.category_names if name not in self.required
        )
        # What the token records the choice was about (policy/taxonomy.py): a change of
        # categories, cookies or texts asks again, unless text_fixes marks it a typo fix.
        structure = structure_hash(config)
        self.texts_hash = texts_hash(config)
        self.taxonomy = f"{structure}-{self.texts_hash}"
        self.accepted_taxonomies: frozenset[str] = frozenset(
            f"{structure}-{texts}" for texts in equivalent_texts(self.texts_hash, config.text_fixes)
        )
        # Regimes and GPC (docs/regimes.md, docs/gpc.md).
        self.opt_out_categories: frozenset[str] = frozenset(config.opt_out_categories)
        self.opt_out_mask = self.mask_of(self.opt_out_categories)
        self.gpc_mask = self.mask_of(config.gpc_categories)
        self.declarations: tuple[tuple[str, CookieDeclaration], ...] = tuple(
            (category_name, cookie)
            for category_name, category in config.categories.items()
            for cookie in category.cookies
        )
        self.registry = Registry(
            (cookie.name, category_name) for category_name, cookie in self.declarations
        )

    # -- categories ---------------------------------------------------------

    def category_of(self, cookie_name: str) -> str | None:
        """The category that declares ``cookie_name``; ``None`` when none does."""
        entry = self.registry.lookup(cookie_name)
        return entry.category if entry is not None else None

    def declaration_of(self, cookie_name: str) -> tuple[str, CookieDeclaration] | None:
        entry = self.registry.lookup(cookie_name)
        return self.declarations[entry.declaration] if entry is not None else None

    def bit(self, category: str) -> int:
        return self._bit[category]

    def mask_of(self, categories: Iterable[str]) -> int:
        mask = 0
        for name in categories:
            bit = self._bit.get(name)
            if bit is None:
                raise ConfigError(f"unknown category {name!r}")
            mask |= bit
        return mask

    def names_of(self, mask: int) -> frozenset[str]:
        return frozenset(name for name, bit in self._bit.items() if mask & bit)

    def unknown_categories(self, names: Iterable[str]) -> list[str]:
        return [name for name in names if name not in self._bit]

    # -- states -------------------------------------------------------------

    def undecided(
        self,
        *,
        gpc: bool = False,
        consent_id: str | None = None,
        mode: Mode | None = None,
        region: str | None = None,
    ) -> ConsentState:
        """Before a choice: opt-in grants nothing optional (prior consent); opt-out and
        notice grant every optional category but those ``Sec-GPC: 1`` refuses."""
        mode = mode or self.config.mode
        gpc = gpc and self.config.gpc
        mask = 0
        if mode != "opt-in":
            mask = self.optional_mask & ~(self.gpc_mask if gpc else 0)
        return ConsentState(
            decided=False,
            granted=self.names_of(mask | self.required_mask),
            revision=self.config.revision,
            consent_id=consent_id,
            gpc=gpc,
            mode=mode,
            region=region,
        )

    def decided(
        self,
        mask: int,
        *,
        consent_id: str,
        issued_at: int,
        mode: Mode | None = None,
        region: str | None = None,
    ) -> ConsentState:
        return ConsentState(
            decided=True,
            granted=self.names_of(mask | self.required_mask),
            revision=self.config.revision,
            consent_id=consent_id,
            issued_at=issued_at,
            mode=mode or self.config.mode,
            region=region,
        )

    def is_safe_cookie_name(self, name: str) -> bool:
        """A name matched by a glob may hold anything; only tokens go into headers."""
        # fullmatch: "$" would let a trailing newline through into a header.
        return len(name) <= 256 and _TOKEN.fullmatch(name) is not None


def load_policy(path: str | Path) -> Policy:
    """Load and validate a policy file. Raises :class:`ConfigError` naming file, key and line."""
    return Policy(load_config(path), source=str(path))


def policy_from_string(text: str, *, source: str = "<string>") -> Policy:
    """Like :func:`load_policy`, for YAML text (handy in tests and notebooks)."""
    return Policy(config_from_string(text, file=source), source=source)
