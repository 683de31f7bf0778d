"""The compiled policy: categories, masks, and the consent states it hands out."""

from __future__ import annotations

import re

import pytest

from consent import ConfigError, ConsentState, Policy, load_policy, policy_from_string

TEXT = """\
revision: 4
gpc: {gpc}
categories:
  necessary:
    title: Necessary
    required: true
    cookies:
      - name: sid
  security:
    title: Security
    required: true
  functional:
    title: Functional
    cookies:
      - name: lang
  analytics:
    title: Analytics
    cookies:
      - name: _ga_*
        path: /shop
        domain: example.com
"""


@pytest.fixture
def small() -> Policy:
    return policy_from_string(TEXT.format(gpc="true"), source="small.yaml")


def test_categories_in_file_order(small: Policy) -> None:
    assert small.category_names == ("necessary", "security", "functional", "analytics")
    assert list(small.categories) == list(small.category_names)
    assert small.categories["analytics"].title == "Analytics"
    assert small.required == frozenset({"necessary", "security"})
    assert small.source == "small.yaml"


def test_category_of(small: Policy) -> None:
    assert small.category_of("sid") == "necessary"
    assert small.category_of("_ga_X") == "analytics"
    assert small.category_of("_ga") is None
    assert small.category_of("consent") is None  # the consent cookie is not a declaration


def test_declaration_of_carries_path_and_domain(small: Policy) -> None:
    found = small.declaration_of("_ga_ABC")
    assert found is not None
    category, declaration = found
    assert (category, declaration.path, declaration.domain) == ("analytics", "/shop", "example.com")
    assert len(small.declarations) == 3


def test_masks_follow_file_order(small: Policy) -> None:
    assert [small.bit(name) for name in small.category_names] == [1, 2, 4, 8]
    assert small.mask_of(["analytics", "necessary"]) == 0b1001
    assert small.mask_of([]) == 0
    assert small.required_mask == 0b0011
    assert small.all_mask == 0b1111
    assert small.names_of(0b1010) == frozenset({"security", "analytics"})
    assert small.names_of(0) == frozenset()
    # Bits beyond the categories mean nothing.
    assert small.names_of(0b110000) == frozenset()


def test_mask_of_an_unknown_category(small: Policy) -> None:
    with pytest.raises(ConfigError, match="unknown category 'marketing'"):
        small.mask_of(["analytics", "marketing"])


def test_unknown_categories(small: Policy) -> None:
    assert small.unknown_categories(["analytics", "x", "necessary", "y"]) == ["x", "y"]
    assert small.unknown_categories([]) == []


def test_undecided_grants_only_required(small: Policy) -> None:
    state = small.undecided()
    assert state == ConsentState(
        decided=False, granted=frozenset({"necessary", "security"}), revision=4
    )
    assert state.allows("necessary")
    assert not state.allows("analytics")
    assert small.undecided(consent_id="abc").consent_id == "abc"


def test_undecided_gpc_only_when_the_file_honours_it(small: Policy) -> None:
    assert small.undecided(gpc=True).gpc is True
    assert small.undecided().gpc is False
    ignoring = policy_from_string(TEXT.format(gpc="false"))
    assert ignoring.undecided(gpc=True).gpc is False


def test_decided_always_includes_required(small: Policy) -> None:
    state = small.decided(small.mask_of(["analytics"]), consent_id="id-1", issued_at=1_700_000_000)
    assert state == ConsentState(
        decided=True,
        granted=frozenset({"necessary", "security", "analytics"}),
        revision=4,
        consent_id="id-1",
        issued_at=1_700_000_000,
    )
    assert not state.allows("functional")
    refused = small.decided(0, consent_id="id-2", issued_at=1)
    assert refused.decided
    assert refused.granted == small.required


def test_taxonomy_changes_when_categories_are_reordered_or_renamed(small: Policy) -> None:
    # "<structure>-<texts>" since issue 5 (the names alone before): see tests/test_reconsent.py.
    assert re.fullmatch(r"[0-9a-f]{8}-[a-z]{8}", small.taxonomy)
    a_b = policy_from_string("categories:\n  a:\n    title: A\n  b:\n    title: B\n")
    b_a = policy_from_string("categories:\n  b:\n    title: B\n  a:\n    title: A\n")
    a_c = policy_from_string("categories:\n  a:\n    title: A\n  c:\n    title: B\n")
    assert len({a_b.taxonomy, b_a.taxonomy, a_c.taxonomy}) == 3


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("_ga_ABC", True),
        ("a" * 256, True),
        ("a" * 257, False),
        ("", False),
        ("a b", False),
        ("a=b", False),
        ("a\n", False),  # "$" in a regex would have let this through
        ("a;b", False),
        ("caf\u00e9", False),
    ],
)
def test_is_safe_cookie_name(small: Policy, name: str, safe: bool) -> None:
    assert small.is_safe_cookie_name(name) is safe


def test_policy_from_string_and_load_policy_agree(policy: Policy) -> None:
    with open("examples/consent.yaml", encoding="utf-8") as handle:
        text = handle.read()
    from_text = policy_from_string(text)
    assert from_text.source == "<string>"
    assert from_text.config == policy.config
    assert load_policy("examples/consent.yaml").source == "examples/consent.yaml"


def test_policy_from_string_raises_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_string("categories: {}\n")
    assert (info.value.file, info.value.key, info.value.line) == ("<string>", "categories", 1)
