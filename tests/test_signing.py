"""The signed consent token: round trip, key rotation, and every bad token reading as None."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable

import pytest
from itsdangerous import TimestampSigner

from consent import ConfigError, policy_from_string
from consent.enforcement.tokens import (
    MAX_TOKEN_BYTES,
    SALT,
    Token,
    TokenSigner,
    new_consent_id,
    normalize_keys,
)

OLD = b"old-key-0123456789abcdef"
NEW = b"new-key-0123456789abcdef"
DAY = 86_400
MAX_AGE = 180 * DAY
TAXONOMY = "abcdefgh-ijklmnop"  # the shape of consent/policy/taxonomy.py's hashes


def signer(*keys: bytes) -> TokenSigner:
    return TokenSigner(list(keys), max_age_seconds=MAX_AGE)


def sign(token_signer: TokenSigner, mask: int = 0b11, revision: int = 2) -> bytes:
    return token_signer.sign(
        revision=revision, mask=mask, taxonomy=TAXONOMY, consent_id="visitor-1"
    ).encode()


class _SignerAt(TimestampSigner):
    """itsdangerous' own signer with the clock set to ``at``: tokens from the past or future."""

    def __init__(self, key: bytes, at: int) -> None:
        super().__init__(key, salt=SALT, digest_method=hashlib.sha256)
        self.at = at

    def get_timestamp(self) -> int:
        return self.at


def forge(payload: str, *, key: bytes = NEW, age: int = 0) -> bytes:
    """Sign ``payload`` with ``key`` as the library would, ``age`` seconds ago."""
    return _SignerAt(key, int(time.time()) - age).sign(payload)


def test_round_trip() -> None:
    consent_id = new_consent_id()
    before = int(time.time())
    raw = signer(NEW).sign(revision=7, mask=0b10110, taxonomy=TAXONOMY, consent_id=consent_id)
    token = signer(NEW).verify(raw.encode())
    assert token is not None
    assert (token.revision, token.mask, token.taxonomy, token.consent_id) == (
        7,
        0b10110,
        TAXONOMY,
        consent_id,
    )
    assert before <= token.issued_at <= int(time.time())


def test_token_signed_by_the_library_matches_a_forged_one() -> None:
    # The forge helper must sign exactly like TokenSigner, or the tests below prove nothing.
    token = signer(NEW).verify(forge(f"v1.2.3.{TAXONOMY}.visitor-1", age=60))
    assert token is not None
    assert token == Token(2, 3, TAXONOMY, "visitor-1", token.issued_at)
    assert abs(time.time() - 60 - token.issued_at) < 5


def test_old_key_still_verifies_while_listed() -> None:
    raw = sign(signer(OLD))
    assert signer(OLD, NEW).verify(raw) is not None


def test_the_last_key_signs() -> None:
    raw = sign(signer(OLD, NEW))
    assert signer(NEW).verify(raw) is not None
    assert signer(OLD).verify(raw) is None


def test_removed_key_no_longer_verifies() -> None:
    raw = sign(signer(OLD))
    assert signer(NEW).verify(raw) is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda raw: raw.replace(b"v1.2.3.", b"v1.2.7.", 1),  # granted more
        lambda raw: raw.replace(b"v1.2.", b"v1.9.", 1),  # another revision
        # A middle character of the signature: the last base64 character of a 32-byte
        # digest carries 2 padding bits, so changing only those would not tamper.
        lambda raw: raw[:-5] + (b"A" if raw[-5:-4] != b"A" else b"B") + raw[-4:],
        lambda raw: raw[:-10],  # truncated
        lambda raw: raw.rsplit(b".", 2)[0],  # signature and timestamp removed
        lambda raw: raw.rsplit(b".", 1)[0] + b".",  # empty signature
    ],
)
def test_tampered_token(tamper: Callable[[bytes], bytes]) -> None:
    raw = sign(signer(NEW), mask=3)
    tampered = tamper(raw)
    assert tampered != raw
    assert signer(NEW).verify(tampered) is None


def test_expired_token() -> None:
    assert signer(NEW).verify(forge(f"v1.1.1.{TAXONOMY}.id", age=MAX_AGE - 60)) is not None
    assert signer(NEW).verify(forge(f"v1.1.1.{TAXONOMY}.id", age=MAX_AGE + 60)) is None


def test_token_from_the_future() -> None:
    assert signer(NEW).verify(forge(f"v1.1.1.{TAXONOMY}.id", age=-3600)) is None


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"v1.1.1.abc.id.AAAA.BBBB\n",
        b"v1 1 1",
        b"v1.1.1.abc.id.\xff\xfe",
        b"v1.1.1.abc.id;x=1",
        b'"quoted"',
        b"A" * (MAX_TOKEN_BYTES + 1),
    ],
)
def test_bad_charset_or_size(raw: bytes) -> None:
    assert signer(NEW).verify(raw) is None


def test_a_valid_token_with_a_trailing_newline_is_refused() -> None:
    raw = sign(signer(NEW))
    assert signer(NEW).verify(raw) is not None
    assert signer(NEW).verify(raw + b"\n") is None


@pytest.mark.parametrize(
    "payload",
    [
        f"v1.1.3.{TAXONOMY}",  # four fields
        f"v1.1.3.{TAXONOMY}.id.extra",  # six fields
        f"v2.1.3.{TAXONOMY}.id",  # another version
        f"1.3.{TAXONOMY}.id.v1",  # fields shifted
        f"v1.x.3.{TAXONOMY}.id",  # revision not a number
        f"v1..3.{TAXONOMY}.id",  # empty revision
        f"v1.-1.3.{TAXONOMY}.id",  # negative revision
        f"v1.1.zz.{TAXONOMY}.id",  # mask not hex
        f"v1.1.-3.{TAXONOMY}.id",  # int(x, 16) would take these three
        f"v1.1.1_0.{TAXONOMY}.id",
        f"v1.1.0x3.{TAXONOMY}.id",
        f"v1.1.F.{TAXONOMY}.id",  # we write lower-case hex only
        f"v1.1..{TAXONOMY}.id",  # empty mask
        f"v1.1.{'f' * 17}.{TAXONOMY}.id",  # more bits than any policy has
        f"v1.1.3.{TAXONOMY}.",  # empty consent id
        "",  # nothing at all
    ],
)
def test_malformed_payload_signed_with_the_right_key(payload: str) -> None:
    raw = forge(payload)
    assert len(raw) <= MAX_TOKEN_BYTES
    assert signer(NEW).verify(raw) is None


def test_token_with_32_categories_fits_in_256_bytes() -> None:
    raw = signer(OLD, NEW).sign(
        revision=10**9,
        mask=(1 << 32) - 1,
        taxonomy=policy_from_string(
            "categories:\n"
            + "".join(f"  category-{i:02}:\n    title: Category {i}\n" for i in range(32))
        ).taxonomy,
        consent_id=new_consent_id(),
    )
    assert len(raw) <= MAX_TOKEN_BYTES
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", raw)
    token = signer(NEW).verify(raw.encode())
    assert token is not None
    assert token.mask == (1 << 32) - 1


def test_consent_ids_are_random_and_url_safe() -> None:
    ids = {new_consent_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", value) for value in ids)


def test_now_is_the_current_time() -> None:
    assert abs(TokenSigner.now() - time.time()) < 5


# -- secret keys ----------------------------------------------------------------


def test_normalize_keys_accepts_one_key_or_many() -> None:
    assert normalize_keys("k" * 16) == [b"k" * 16]
    assert normalize_keys(b"k" * 16) == [b"k" * 16]
    assert normalize_keys(["a" * 16, b"b" * 20]) == [b"a" * 16, b"b" * 20]
    assert normalize_keys(("  " + "c" * 16 + "\n",)) == [b"c" * 16]


@pytest.mark.parametrize("keys", [[], ()])
def test_no_key_at_all(keys: list[str]) -> None:
    with pytest.raises(ConfigError, match="secret_keys is empty") as info:
        normalize_keys(keys)
    assert info.value.key == "secret_keys"


@pytest.mark.parametrize(
    ("keys", "number"),
    [("", 1), ("short", 1), (" " * 20, 1), (["k" * 16, "k" * 15], 2), ([b"x"], 1)],
)
def test_short_key(keys: str | list[str | bytes], number: int) -> None:
    with pytest.raises(ConfigError, match=f"secret key #{number} is shorter than 16") as info:
        normalize_keys(keys)
    assert isinstance(info.value, ValueError)
    assert info.value.key == "secret_keys"
