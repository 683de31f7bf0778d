"""Cookie name → category: exact names, ``*`` globs and the precedence between them."""

from __future__ import annotations

import time
from fnmatch import fnmatchcase
from itertools import accumulate
from operator import or_
from unittest.mock import patch

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from consent import Policy
from consent.policy.registry import Entry, Glob, Registry


def category(registry: Registry, name: str) -> str | None:
    entry = registry.lookup(name)
    return entry.category if entry is not None else None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("_ga", "analytics"),
        ("_ga_ABC123", "analytics"),
        ("_pk_id.1.a1b2", "analytics"),
        ("_pk_ses.7.ff", "analytics"),
        ("_hjSessionUser_1", "performance"),
        ("_hj", "performance"),
        ("IDE", "advertisement"),
        ("ide", None),
        ("_pk_id", None),
        ("_g", None),
        ("sid", "necessary"),
        ("unknown", None),
        ("", None),
    ],
)
def test_example_policy(policy: Policy, name: str, expected: str | None) -> None:
    assert policy.category_of(name) == expected


def test_declaration_of_returns_the_matching_declaration(policy: Policy) -> None:
    found = policy.declaration_of("_pk_ses.1.abc")
    assert found is not None
    assert (found[0], found[1].name, found[1].provider) == (
        "analytics",
        "_pk_ses.*",
        "Matomo (self-hosted)",
    )
    assert policy.declaration_of("nope") is None


def test_exact_beats_glob_declared_earlier() -> None:
    registry = Registry([("_ga*", "analytics"), ("_ga", "necessary"), ("*", "other")])
    assert category(registry, "_ga") == "necessary"
    assert category(registry, "_gax") == "analytics"


@pytest.mark.parametrize(
    "declarations",
    [
        [("_g*", "short"), ("_ga_*", "long"), ("*", "any")],
        [("*", "any"), ("_ga_*", "long"), ("_g*", "short")],
    ],
)
def test_longest_literal_prefix_wins_whatever_the_order(
    declarations: list[tuple[str, str]],
) -> None:
    registry = Registry(declarations)
    assert category(registry, "_ga_X1") == "long"
    assert category(registry, "_gb") == "short"
    assert category(registry, "_ga") == "short"
    assert category(registry, "x") == "any"


def test_prefix_counts_only_up_to_the_first_star() -> None:
    # "a*bcdef" has prefix "a", "ab*" has prefix "ab": the latter wins for "abcdef".
    registry = Registry([("a*bcdef", "first"), ("ab*", "second")])
    assert category(registry, "abcdef") == "second"
    assert category(registry, "aXbcdef") == "first"


def test_tie_goes_to_the_first_declared() -> None:
    registry = Registry([("_ga*x", "first"), ("_ga*", "second"), ("_ga*x*", "third")])
    assert category(registry, "_gaYx") == "first"
    assert category(registry, "_gaY") == "second"
    assert category(registry, "_gaxY") == "second"


def test_the_first_declared_exact_name_is_kept() -> None:
    # The config refuses duplicates; the registry still resolves them deterministically.
    registry = Registry([("sid", "first"), ("sid", "second")])
    assert category(registry, "sid") == "first"
    assert registry.size == 2


@pytest.mark.parametrize(
    ("pattern", "matching", "not_matching"),
    [
        ("_pk_*.*", ["_pk_id.1.abc", "_pk_.", "_pk_ses.x"], ["_pk_id", "_pk", "x_pk_id.1"]),
        ("*_session", ["php_session", "_session"], ["_sessions", "session", "_sessio"]),
        ("a*b*c", ["abc", "aXbYc", "abbc", "abcbc", "a_c_b_c"], ["acb", "ab", "ac", "bac", "abcd"]),
        ("*", ["", "x", "anything at all"], []),
        ("a**b", ["ab", "aXb"], ["a", "ba"]),
        ("ab*ba", ["abba", "ab-ba", "abXXba"], ["aba", "ab", "abb"]),
        ("*a*", ["a", "xax", "aaa"], ["", "bcd"]),
        ("_hj*", ["_hj", "_hjid"], ["_h", "hj"]),
    ],
)
def test_globs(pattern: str, matching: list[str], not_matching: list[str]) -> None:
    glob = Glob.compile(pattern)
    registry = Registry([(pattern, "c")])
    for name in matching:
        assert glob.matches(name), name
        assert category(registry, name) == "c", name
    for name in not_matching:
        assert not glob.matches(name), name
        assert category(registry, name) is None, name


def test_undeclared_names_have_no_category() -> None:
    registry = Registry([("sid", "necessary"), ("_ga_*", "analytics")])
    assert registry.lookup("_ga") is None
    assert registry.lookup("si") is None
    assert registry.lookup("sidx") is None


def _fnmatch_pattern(pattern: str) -> str:
    # fnmatch gives "[" and "?" a meaning; ours are literal characters.
    return pattern.replace("[", "[[]").replace("?", "[?]")


# Literal pieces joined by "*": every generated pattern is a glob, some with several stars.
globs = st.lists(st.text(alphabet="ab[?.", max_size=4), min_size=2, max_size=5).map("*".join)


@given(pattern=globs, name=st.text(alphabet="ab[?.", max_size=14))
def test_glob_agrees_with_fnmatch(pattern: str, name: str) -> None:
    assert Glob.compile(pattern).matches(name) == fnmatchcase(name, _fnmatch_pattern(pattern))


@given(
    patterns=st.lists(st.text(alphabet="ab*", min_size=1, max_size=6), min_size=1, max_size=6),
    name=st.text(alphabet="ab", max_size=8),
)
def test_registry_finds_a_match_exactly_when_some_declaration_matches(
    patterns: list[str], name: str
) -> None:
    registry = Registry((pattern, str(index)) for index, pattern in enumerate(patterns))
    matching = {str(i) for i, p in enumerate(patterns) if fnmatchcase(name, p)}
    found = category(registry, name)
    assert (found is not None) == bool(matching)
    if found is not None:
        assert found in matching


def test_a_pattern_without_star_is_not_a_glob() -> None:
    with pytest.raises(ValueError, match="no '\\*'"):
        Glob.compile("sid")


def test_pathological_glob_is_linear() -> None:
    glob = Glob.compile("a*a*a*a*a*a*b")
    registry = Registry([("a*a*a*a*a*a*b", "c")])
    started = time.perf_counter()
    assert not glob.matches("a" * 20_000)
    assert category(registry, "a" * 20_000) is None
    assert glob.matches("a" * 20_000 + "b")
    assert time.perf_counter() - started < 1.0


def test_five_thousand_declarations_resolve_correctly() -> None:
    declarations: list[tuple[str, str]] = []
    for i in range(5_000):
        shape = i % 3
        if shape == 0:
            declarations.append((f"glob{i}_*", f"g{i % 7}"))
        elif shape == 1:
            declarations.append((f"exact_{i}", f"e{i % 5}"))
        else:
            declarations.append((f"mid{i}*.*", f"m{i % 3}"))
    registry = Registry(declarations)
    assert registry.size == 5_000
    for i in range(0, 5_000, 37):
        shape = i % 3
        if shape == 0:
            assert category(registry, f"glob{i}_visitor") == f"g{i % 7}"
            assert category(registry, f"glob{i}") is None
        elif shape == 1:
            assert category(registry, f"exact_{i}") == f"e{i % 5}"
            assert category(registry, f"exact_{i}x") is None
        else:
            assert category(registry, f"mid{i}.x.y") == f"m{i % 3}"
            assert category(registry, f"mid{i}") is None
    entry = registry.lookup("exact_4")
    assert entry is not None
    assert entry.declaration == 4


@pytest.mark.parametrize(
    ("declarations", "expected"),
    [
        # Same prefix, both suffixes match "v_x_1": declaration order decides, not length.
        ([("v_*1", "short"), ("v_*_1", "long")], "short"),
        ([("v_*_1", "long"), ("v_*1", "short")], "long"),
        ([("v_*x*1", "middle"), ("v_*_1", "long"), ("v_*", "any")], "middle"),
        ([("v_*y*1", "middle"), ("v_*_1", "long"), ("v_*", "any")], "long"),
        ([("v_*", "any"), ("v_*_1", "long"), ("v_*x*", "middle")], "any"),
        # A longer prefix still beats an earlier glob of a shorter prefix.
        ([("v_*_1", "short prefix"), ("v_x*", "long prefix")], "long prefix"),
        # The same pattern again ("**" is "*") never wins over the first.
        ([("v_*x*", "first"), ("v_**x*", "again"), ("v_*x**", "again")], "first"),
    ],
)
def test_first_declared_wins_among_suffixes_of_one_prefix(
    declarations: list[tuple[str, str]], expected: str
) -> None:
    assert category(Registry(declarations), "v_x_1") == expected


def test_duplicates_still_count_in_size() -> None:
    registry = Registry([("a*", "first"), ("a*", "second"), ("a**", "third")])
    assert registry.size == 3
    assert registry.lookup("ab") == Entry("first", 0)


def _reference_matches(pattern: str, name: str) -> bool:
    """``*`` is any run of characters, every other character itself (no fnmatch)."""
    # matched[j]: the pattern read so far matches name[:j].
    matched = [True] + [False] * len(name)
    for char in pattern:
        if char == "*":
            matched = list(accumulate(matched, or_))
        else:
            matched = [False] + [matched[j] and name[j] == char for j in range(len(name))]
    return matched[-1]


def _reference_lookup(declarations: list[tuple[str, str]], name: str) -> Entry | None:
    """Design rule, read literally: exact first, then longest prefix, then first declared."""
    for index, (pattern, category_name) in enumerate(declarations):
        if "*" not in pattern and pattern == name:
            return Entry(category_name, index)
    matching = [
        (-pattern.index("*"), index, category_name)
        for index, (pattern, category_name) in enumerate(declarations)
        if "*" in pattern and _reference_matches(pattern, name)
    ]
    if not matching:
        return None
    _, index, category_name = min(matching)
    return Entry(category_name, index)


# A small alphabet makes shared prefixes and suffixes, "**", middles and duplicates common.
declaration = st.tuples(st.text(alphabet="ab_*", max_size=6), st.sampled_from("xyz"))


@settings(max_examples=400)
@given(
    declarations=st.lists(declaration, max_size=14),
    names=st.lists(st.text(alphabet="ab_", max_size=10), max_size=12),
)
@example(declarations=[("v*1", "x"), ("v*_1", "y")], names=["v_1", "v1", "v_"])
@example(declarations=[("a*b*a", "x"), ("a*a", "y"), ("a**a", "z")], names=["aba", "aa"])
@example(declarations=[("*", "x"), ("**", "y"), ("", "z")], names=["", "a"])
@example(declarations=[("ab*", "x"), ("b", "y")], names=["a", "ab", "abb", "b", "ba"])
def test_registry_answers_like_the_reference(
    declarations: list[tuple[str, str]], names: list[str]
) -> None:
    registry = Registry(declarations)
    for name in names:
        expected = _reference_lookup(declarations, name)
        assert registry.lookup(name) == expected, name
        # The same name as a request header carries it.
        assert registry.lookup_latin1(name.encode("latin-1")) == expected, name


def test_a_lookup_tries_at_most_one_of_five_thousand_globs_of_one_prefix() -> None:
    registry = Registry([(f"vendor_*_{i}", f"c{i}") for i in range(1, 5_001)])
    unseen = [f"vendor_x{j}_{5_000 + j}" for j in range(1, 201)]
    known = ["vendor_x_1", "vendor_x_42", "vendor__5000"]
    # Count the globs actually tried, without a clock and without reading internals.
    with patch.object(Glob, "matches", autospec=True, side_effect=Glob.matches) as matches:
        assert [registry.lookup(name) for name in unseen] == [None] * len(unseen)
        assert [category(registry, name) for name in known] == ["c1", "c42", "c5000"]
    assert matches.call_count <= len(known)


def test_a_pattern_declared_again_is_never_tried() -> None:
    # Middle pieces keep these out of the "prefix*suffix" shortcut: only dropping
    # the repeats at build time keeps the look-up from trying all of them.
    registry = Registry([("v_*x*", "first")] + [("v_**x*", "again")] * 4_999)
    with patch.object(Glob, "matches", autospec=True, side_effect=Glob.matches) as matches:
        assert registry.lookup("v_y") is None
        assert category(registry, "v_x") == "first"
    assert matches.call_count == 2
