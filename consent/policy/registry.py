"""Which category a cookie name belongs to, at a cost that does not grow with the file.

Exact names live in a dict. Globs are indexed by their literal prefix (the text
before the first ``*``): a lookup probes the name's own prefixes, longest first,
but only at the prefix lengths that some glob actually has, so the work depends
on the name, not on how many cookies are declared. Globs are matched by splitting
on ``*`` and searching the pieces left to right, which is linear and needs no
regular expression (rule 5).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Glob:
    """A compiled ``*`` pattern."""

    pattern: str
    prefix: str
    suffix: str
    middle: tuple[str, ...]
    min_length: int

    @classmethod
    def compile(cls, pattern: str) -> Glob:
        pieces = pattern.split("*")
        if len(pieces) < 2:
            raise ValueError(f"{pattern!r} has no '*': declare it as an exact name")
        prefix, *middle, suffix = pieces
        middle_pieces = tuple(piece for piece in middle if piece)
        return cls(
            pattern=pattern,
            prefix=prefix,
            suffix=suffix,
            middle=middle_pieces,
            min_length=len(prefix) + len(suffix) + sum(map(len, middle_pieces)),
        )

    def matches(self, name: str) -> bool:
        if len(name) < self.min_length:
            return False
        if not name.startswith(self.prefix) or not name.endswith(self.suffix):
            return False
        # Leftmost matching of each middle piece is optimal for "*"-only globs.
        position = len(self.prefix)
        end = len(name) - len(self.suffix)
        for piece in self.middle:
            found = name.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True


@dataclass(frozen=True, slots=True)
class Entry:
    """What a declaration resolves to: its category and the index of the declaration."""

    category: str
    declaration: int


class Registry:
    """Resolve cookie names to entries. Build once; lookups never scan the declarations."""

    def __init__(self, declarations: Iterable[tuple[str, str]]) -> None:
        """``declarations`` yields ``(cookie name or glob, category)`` in file order."""
        self._exact: dict[str, Entry] = {}
        self._globs: dict[str, list[tuple[Glob, Entry]]] = {}
        self.size = 0
        for index, (name, category) in enumerate(declarations):
            entry = Entry(category, index)
            if "*" in name:
                glob = Glob.compile(name)
                self._globs.setdefault(glob.prefix, []).append((glob, entry))
            else:
                self._exact.setdefault(name, entry)
            self.size += 1
        # Longest literal prefix wins, so probe the lengths from the longest down.
        self._prefix_lengths = sorted({len(prefix) for prefix in self._globs}, reverse=True)

    def lookup(self, name: str) -> Entry | None:
        entry = self._exact.get(name)
        if entry is not None:
            return entry
        globs = self._globs
        length = len(name)
        for prefix_length in self._prefix_lengths:
            if prefix_length > length:
                continue
            candidates = globs.get(name[:prefix_length])
            if candidates is not None:
                # Same prefix: the first declared glob that matches wins.
                for glob, candidate in candidates:
                    if glob.matches(name):
                        return candidate
        return None
