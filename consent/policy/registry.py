"""Which category a cookie name belongs to, at a cost that does not grow with the file.

Cookie names are chosen by whoever sends the request, and the verdict for a name
never seen before is computed on every request that carries it, so a look-up must
not scan the declarations.

Exact names live in a dict. Globs are indexed twice: by their literal prefix (the
text before the first ``*``) and, inside a prefix, by their literal suffix (the
text after the last ``*``). A look-up probes the name's own prefixes, longest first,
and in a prefix that exists the name's own suffixes, but only at the lengths some
glob actually has. What is left after both probes is a *group*: the globs that
share the prefix and the suffix, in declaration order. The index only narrows the
candidates; every verdict comes from :meth:`Glob.matches`, which splits on ``*``
and searches the pieces left to right: linear, and no regular expression (rule 5).

A group holds more than one glob only when several globs share both the prefix and
the suffix and differ in their middle pieces (``v_*_1_*``, ``v_*_2_*``). Built in
declaration order, a group drops a pattern declared again (``a**b`` is ``a*b``) and
stops at its first glob without middle pieces (``v_*``): that one matches every
name the later ones would, and was declared before them.

Most names no glob can match (their first characters start no glob's prefix: the
*stems*): those cost two dict probes, one for the exact name and one for the stem.
Worst case of one look-up, for a name of ``n`` characters: those two probes; one probe
per distinct prefix length up to ``n``; in each prefix found,
one probe per distinct suffix length that fits; and in each group found, one
``Glob.matches`` call (linear in ``n``) per glob of the group. Probes depend on the
name and on how many distinct lengths the file uses, never on how many cookies it
declares. The one count of declarations that shows is the size of a group, which
the file is held to: at most 32 globs that share a prefix *and* a suffix and differ
only in the middle (``MAX_GLOBS_PER_SHAPE``, refused at load), so a group tries at most
33 globs.
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


@dataclass(frozen=True, slots=True)
class _Bucket:
    """The globs of one literal prefix, in groups keyed by their literal suffix."""

    groups: dict[str, list[tuple[Glob, Entry]]]
    suffix_lengths: tuple[int, ...]  # ascending: the probe stops at the first too long


class Registry:
    """Resolve cookie names to entries. Build once; lookups never scan the declarations."""

    def __init__(self, declarations: Iterable[tuple[str, str]]) -> None:
        """``declarations`` yields ``(cookie name or glob, category)`` in file order."""
        self._exact: dict[str, Entry] = {}
        groups_by_prefix: dict[str, dict[str, list[tuple[Glob, Entry]]]] = {}
        seen: set[tuple[str, tuple[str, ...], str]] = set()
        self.size = 0
        for index, (name, category) in enumerate(declarations):
            self.size += 1
            entry = Entry(category, index)
            if "*" not in name:
                self._exact.setdefault(name, entry)
                continue
            glob = Glob.compile(name)
            shape = (glob.prefix, glob.middle, glob.suffix)
            if shape in seen:
                continue  # the same pattern declared earlier always wins
            seen.add(shape)
            group = groups_by_prefix.setdefault(glob.prefix, {}).setdefault(glob.suffix, [])
            if group and not group[-1][0].middle:
                continue  # an earlier "prefix*suffix" matches every name this one does
            group.append((glob, entry))
        self._buckets: dict[str, _Bucket] = {
            prefix: _Bucket(groups, tuple(sorted({len(suffix) for suffix in groups})))
            for prefix, groups in groups_by_prefix.items()
        }
        # Longest literal prefix wins, so probe the lengths from the longest down.
        self._prefix_lengths = sorted({len(prefix) for prefix in self._buckets}, reverse=True)
        # Every glob's prefix starts with one of these stems (each prefix cut to the
        # shortest prefix length): a name that starts with none of them can match no
        # glob, and is answered with one probe instead of one per prefix length.
        self._stem_length = min(self._prefix_lengths, default=0)
        self._stems = frozenset(prefix[: self._stem_length] for prefix in self._buckets)
        # The same, for names read from headers as bytes. A declaration that is not
        # latin-1 (the file only allows ASCII) could never equal such a name.
        self._exact_latin1 = {
            name.encode("latin-1"): entry for name, entry in self._exact.items() if name.isascii()
        }
        self._stems_latin1 = frozenset(
            stem.encode("latin-1") for stem in self._stems if stem.isascii()
        )

    def lookup(self, name: str) -> Entry | None:
        """The entry of a cookie name: its exact declaration, else its glob's."""
        entry = self._exact.get(name)
        if entry is not None or name[: self._stem_length] not in self._stems:
            return entry  # most names no glob could match: answered by two probes
        return self._glob_entry(name)

    def lookup_latin1(self, name: bytes) -> Entry | None:
        """``lookup`` of a name as a header carries it (bytes, read as latin-1).

        Clients choose the names, so the usual answer, "undeclared", comes without
        decoding the name: declared names and glob stems are ASCII.
        """
        entry = self._exact_latin1.get(name)
        if entry is not None or name[: self._stem_length] not in self._stems_latin1:
            return entry
        return self._glob_entry(name.decode("latin-1"))

    def _glob_entry(self, name: str) -> Entry | None:
        """The entry of the glob with the longest literal prefix that matches ``name``.

        One probe per prefix length. A name shorter than a length slices to itself,
        which only a shorter prefix's bucket can hold, and there it leaves no room:
        nothing matches.
        """
        buckets = self._buckets
        for prefix_length in self._prefix_lengths:
            bucket = buckets.get(name[:prefix_length])
            if bucket is not None:
                found = self._first_declared_match(bucket, name, len(name) - prefix_length)
                if found is not None:
                    return found
        return None

    @staticmethod
    def _first_declared_match(bucket: _Bucket, name: str, room: int) -> Entry | None:
        """The earliest declared glob of ``bucket`` matching ``name``.

        ``room`` is what the prefix leaves of the name. Several suffixes can match
        (``*1`` and ``*_1`` both end ``v_x_1``): the first declared wins, not the longest.
        """
        best: Entry | None = None
        for suffix_length in bucket.suffix_lengths:
            if suffix_length > room:  # room < 0: the name is shorter than the prefix
                break
            group = bucket.groups.get(name[len(name) - suffix_length :])
            if group is None:
                continue
            for glob, entry in group:
                if best is not None and entry.declaration > best.declaration:
                    break  # a group is in declaration order: the rest come later still
                if glob.matches(name):
                    best = entry
                    break
        return best
