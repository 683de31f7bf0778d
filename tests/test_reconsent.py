"""Re-consent: lifetimes per kind of choice from the signed issue time, and the taxonomy hash."""

from __future__ import annotations

import hashlib
import re
import time

import pytest
from itsdangerous import TimestampSigner
from starlette.testclient import TestClient

from consent import ConfigError, ConsentMiddleware, Policy
from consent.enforcement.tokens import SALT

from .conftest import (
    KEY,
    SMALL_CATEGORIES,
    attributes,
    cookie_app,
    set_cookie_for,
    small_policy,
    with_consent,
)

DAY = 86_400
LIFETIMES = "cookie:\n  accept_days: 365\n  refuse_days: 30\n"


class _SignerAt(TimestampSigner):
    """itsdangerous' signer with its clock set to ``at``, as tests/test_signing.py forges."""

    def __init__(self, at: int) -> None:
        super().__init__(KEY, salt=SALT, digest_method=hashlib.sha256)
        self.at = at

    def get_timestamp(self) -> int:
        return self.at


def forge(policy: Policy, granted: list[str], *, age_days: float, taxonomy: str = "") -> str:
    """A token the middleware would have signed ``age_days`` ago for this choice."""
    mask = policy.mask_of(granted)
    payload = f"v1.{policy.config.revision}.{mask:x}.{taxonomy or policy.taxonomy}.visitor-1"
    at = int(time.time() - age_days * DAY)
    return _SignerAt(at).sign(payload).decode()


def client(policy: Policy) -> TestClient:
    app = cookie_app([("_ga", "1")])
    return TestClient(ConsentMiddleware(app, policy=policy, secret_keys=[KEY]))


def decided(policy: Policy, token: str) -> bool:
    data = client(policy).get("/consent", headers=with_consent(token)).json()
    return bool(data["decided"])


# -- lifetimes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granted", "age_days", "still_decided"),
    [
        (["analytics", "advertisement"], 364, True),
        (["analytics", "advertisement"], 366, False),
        (["analytics"], 364, True),  # granting any optional category is an acceptance
        ([], 29, True),  # granting nothing optional is a refusal
        ([], 31, False),
        (["necessary"], 31, False),  # required categories do not make it an acceptance
    ],
)
def test_each_kind_of_choice_lasts_its_own_time(
    granted: list[str], age_days: int, still_decided: bool
) -> None:
    policy = small_policy(LIFETIMES)
    assert decided(policy, forge(policy, granted, age_days=age_days)) is still_decided


def test_the_cookie_max_age_follows_the_kind_of_choice() -> None:
    test_client = client(small_policy(LIFETIMES))
    accepted = test_client.post("/consent", json={"action": "accept_all"})
    assert attributes(set_cookie_for(accepted, "consent"))["max-age"] == str(365 * DAY)
    refused = test_client.post("/consent", json={"action": "reject_all"})
    assert attributes(set_cookie_for(refused, "consent"))["max-age"] == str(30 * DAY)


def test_both_lifetimes_default_to_max_age_days() -> None:
    policy = small_policy("cookie:\n  max_age_days: 90\n")
    refused = client(policy).post("/consent", json={"action": "reject_all"})
    assert attributes(set_cookie_for(refused, "consent"))["max-age"] == str(90 * DAY)
    assert decided(policy, forge(policy, ["analytics"], age_days=89))
    assert not decided(policy, forge(policy, ["analytics"], age_days=91))
    assert not decided(policy, forge(policy, [], age_days=91))


def test_a_client_cannot_extend_a_choice_by_keeping_the_cookie() -> None:
    # The browser would have dropped it; a client that keeps sending it is refused
    # from the signed issue time, whatever Max-Age or Expires it claims.
    policy = small_policy(LIFETIMES)
    token = forge(policy, [], age_days=30.01)
    response = client(policy).get("/", headers=with_consent(token, "_ga=1"))
    assert response.text.startswith("['necessary']|")  # undecided again: _ga stripped
    assert response.text.endswith("|consent=" + token)


@pytest.mark.parametrize("key", ["max_age_days", "accept_days", "refuse_days"])
def test_lifetimes_are_capped_at_395_days(key: str) -> None:
    small_policy(f"cookie:\n  {key}: 395\n")
    with pytest.raises(ConfigError, match="395") as caught:
        small_policy(f"cookie:\n  {key}: 396\n")
    assert (caught.value.key, caught.value.line) == (f"cookie.{key}", 2)


# -- the taxonomy hash -------------------------------------------------------------------

TYPO = SMALL_CATEGORIES.replace("title: Analytics", "title: Analytcs")
FIXED = SMALL_CATEGORIES
ACCEPTED = ["analytics", "advertisement"]


def test_the_taxonomy_covers_cookies_and_texts() -> None:
    before = small_policy()
    changes = [
        SMALL_CATEGORIES.replace("- name: _ga", "- name: _ga\n      - name: _gid"),  # a cookie
        SMALL_CATEGORIES.replace("- name: _fbp", "- name: _fbp\n        path: /shop"),
        SMALL_CATEGORIES.replace("title: Analytics", "title: Statistics"),  # a text
        SMALL_CATEGORIES.replace("- name: _ga", "- name: _ga\n        provider: Google"),
    ]
    for categories in changes:
        after = small_policy(categories=categories)
        assert after.taxonomy != before.taxonomy, categories
        assert not decided(after, forge(before, ACCEPTED, age_days=1)), categories


def test_a_structure_change_keeps_the_consent_id() -> None:
    before = small_policy()
    after = small_policy(categories=SMALL_CATEGORIES.replace("_fbp", "_gcl_au"))
    data = client(after).get("/consent", headers=with_consent(forge(before, [], age_days=1)))
    assert (data.json()["decided"], data.json()["consent_id"]) == (False, "visitor-1")


def test_a_marked_typo_fix_does_not_ask_again() -> None:
    typo = small_policy(categories=TYPO)
    token = forge(typo, ACCEPTED, age_days=1)
    unmarked = small_policy(categories=FIXED)
    assert not decided(unmarked, token)
    marked = small_policy(
        f"text_fixes:\n  - old: {typo.texts_hash}\n    new: {unmarked.texts_hash}\n",
        categories=FIXED,
    )
    assert marked.texts_hash == unmarked.texts_hash  # the fix itself is not a text
    assert decided(marked, token)


def test_a_typo_fix_cannot_hide_a_change_of_cookies() -> None:
    typo = small_policy(categories=TYPO)
    token = forge(typo, ACCEPTED, age_days=1)
    more_cookies = FIXED.replace("- name: _ga", "- name: _ga\n      - name: _gid")
    fixed = small_policy(categories=more_cookies)
    marked = small_policy(
        f"text_fixes:\n  - old: {typo.texts_hash}\n    new: {fixed.texts_hash}\n",
        categories=more_cookies,
    )
    assert not decided(marked, token)


def test_a_later_meaningful_change_makes_an_old_fix_inert() -> None:
    typo = small_policy(categories=TYPO)
    fixed = small_policy(categories=FIXED)
    token = forge(typo, ACCEPTED, age_days=1)
    rewritten = FIXED.replace("title: Advertisement", "title: Advertising partners")
    later = small_policy(
        f"text_fixes:\n  - old: {typo.texts_hash}\n    new: {fixed.texts_hash}\n",
        categories=rewritten,
    )
    assert not decided(later, token)
    assert not decided(later, forge(fixed, ACCEPTED, age_days=1))


def test_typo_fixes_chain() -> None:
    first = small_policy(categories=TYPO)
    second = small_policy(categories=TYPO.replace("title: Advertisement", "title: Advertisment"))
    third = small_policy(categories=TYPO.replace("title: Advertisement", "title: Advertisment"))
    final = small_policy(categories=FIXED)
    fixes = (
        f"text_fixes:\n  - old: {first.texts_hash}\n    new: {second.texts_hash}\n"
        f"  - old: {third.texts_hash}\n    new: {final.texts_hash}\n"
    )
    assert decided(small_policy(fixes, categories=FIXED), forge(first, ACCEPTED, age_days=1))


def test_revision_still_asks_again() -> None:
    before = small_policy("revision: 1\n")
    assert not decided(small_policy("revision: 2\n"), forge(before, ACCEPTED, age_days=1))


def test_the_texts_hash_is_letters_so_yaml_reads_it_as_text() -> None:
    assert re.fullmatch(r"[a-z]{8}", small_policy().texts_hash)


@pytest.mark.parametrize("value", ["12345678", "ABCDEFGH", "abc", "kqzrbmwe1"])
def test_a_bad_texts_hash_is_refused(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        small_policy(f"text_fixes:\n  - old: {value}\n    new: abcdefgh\n")
    assert (caught.value.key, caught.value.line) == ("text_fixes[0].old", 2)


def test_an_unknown_key_in_a_text_fix_is_named() -> None:
    with pytest.raises(ConfigError, match="keys allowed here: old, new") as caught:
        small_policy("text_fixes:\n  - old: abcdefgh\n    new: bcdefghi\n    why: typo\n")
    assert (caught.value.key, caught.value.line) == ("text_fixes[0].why", 4)
