"""What a stored choice was made about: the taxonomy hash carried in the consent token.

The token's ``taxonomy`` field is ``<structure>-<texts>``:

- ``structure`` (8 hex digits) covers the categories in order, whether each is
  required, and every cookie declaration's name, domain, path and ``partitioned``.
  The granted set is a bit mask over the categories in file order, so this part also
  keeps a grant from ever sliding onto another category.
- ``texts`` (8 lower-case letters) covers what visitors read: each category's title
  and description, and each cookie's description, duration and provider.

A token whose structure differs, or whose texts hash is neither the current one nor
one that ``text_fixes`` declares equivalent, reads as undecided: the visitor is asked
again. Letters only, so that YAML never reads a texts hash as a number.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from .config import PolicyConfig, TextFix

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
TEXTS_HASH_LENGTH = 8


def _digest(data: object) -> bytes:
    # JSON of lists: unambiguous, unlike joining texts with a separator they may contain.
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).digest()


def structure_hash(config: PolicyConfig) -> str:
    data = [
        [
            name,
            category.required,
            [[c.name, c.domain, c.path, c.partitioned] for c in category.cookies],
        ]
        for name, category in config.categories.items()
    ]
    return _digest(data).hex()[:8]


def texts_hash(config: PolicyConfig) -> str:
    data = [
        [
            name,
            category.title,
            category.description,
            [[c.description, c.duration, c.provider] for c in category.cookies],
        ]
        for name, category in config.categories.items()
    ]
    number = int.from_bytes(_digest(data)[:8], "big")
    letters = []
    for _ in range(TEXTS_HASH_LENGTH):
        number, index = divmod(number, len(_LETTERS))
        letters.append(_LETTERS[index])
    return "".join(letters)


def equivalent_texts(current: str, fixes: Iterable[TextFix]) -> frozenset[str]:
    """``current`` and every texts hash that a chain of fixes leads to it.

    A fix whose ``new`` is no longer reached (the texts changed again since) is inert:
    a meaningful change after a typo fix asks everyone again, as it should.
    """
    fixes = tuple(fixes)
    found = {current}
    changed = True
    while changed:
        changed = False
        for fix in fixes:
            if fix.new in found and fix.old not in found:
                found.add(fix.old)
                changed = True
    return frozenset(found)
