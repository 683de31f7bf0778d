"""The consent token: who chose what, signed with itsdangerous (rule 6).

The payload is ``v1.<revision>.<granted mask>.<taxonomy>.<consent id>``; the
``TimestampSigner`` appends the issue time and a SHA-256 HMAC. The granted set
is a bit mask over the categories in file order, and ``taxonomy`` (built by
consent/policy/taxonomy.py) hashes that order with the cookies and texts, so that
reordering or renaming categories can never shift a grant onto another category:
the token then simply reads as undecided.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from itsdangerous import BadData, TimestampSigner

from ..errors import ConfigError

SALT = "consent.cookie.v1"
MAX_TOKEN_BYTES = 256
_TOKEN_CHARS = re.compile(rb"[A-Za-z0-9_.-]+")
# int(x, 16) would also take "-3", "0x3" and "1_0": only plain lower-case hex is ours.
_MASK = re.compile(r"[0-9a-f]{1,16}")
_VERSION = "v1"


@dataclass(frozen=True, slots=True)
class Token:
    """The verified content of a consent token."""

    revision: int
    mask: int
    taxonomy: str
    consent_id: str
    issued_at: int


def new_consent_id() -> str:
    """A random pseudonymous identifier: 128 bits, URL-safe."""
    return secrets.token_urlsafe(16)


def normalize_keys(secret_keys: str | bytes | Sequence[str | bytes]) -> list[bytes]:
    keys: list[str | bytes]
    keys = [secret_keys] if isinstance(secret_keys, str | bytes) else list(secret_keys)
    if not keys:
        raise ConfigError(
            "secret_keys is empty; give at least one key (see `consent keygen`)",
            key="secret_keys",
        )
    result = []
    for index, key in enumerate(keys):
        raw = key.encode() if isinstance(key, str) else bytes(key)
        if len(raw.strip()) < 16:
            raise ConfigError(
                f"secret key #{index + 1} is shorter than 16 characters; "
                "generate one with `consent keygen`",
                key="secret_keys",
            )
        result.append(raw.strip())
    return result


class TokenSigner:
    """Signs with the newest key, verifies with all of them, always with ``max_age``."""

    def __init__(self, secret_keys: Sequence[bytes], *, max_age_seconds: int) -> None:
        # itsdangerous takes keys oldest to newest and signs with the last one.
        self._signer = TimestampSigner(list(secret_keys), salt=SALT, digest_method=hashlib.sha256)
        self.max_age_seconds = max_age_seconds

    def sign(self, *, revision: int, mask: int, taxonomy: str, consent_id: str) -> str:
        payload = f"{_VERSION}.{revision}.{mask:x}.{taxonomy}.{consent_id}"
        token = self._signer.sign(payload).decode("ascii")
        if len(token) > MAX_TOKEN_BYTES:  # pragma: no cover - guarded by MAX_CATEGORIES
            raise ConfigError("the consent token would exceed 256 bytes")
        return token

    def verify(self, raw: bytes) -> Token | None:
        """Return the token's content, or ``None`` for anything not valid now."""
        if not raw or len(raw) > MAX_TOKEN_BYTES or not _TOKEN_CHARS.fullmatch(raw):
            return None
        try:
            payload, issued = self._signer.unsign(
                raw, max_age=self.max_age_seconds, return_timestamp=True
            )
        except BadData:
            return None
        parts = payload.decode("ascii").split(".")
        if len(parts) != 5 or parts[0] != _VERSION:
            return None
        _, revision, mask, taxonomy, consent_id = parts
        if not revision.isdigit() or not _MASK.fullmatch(mask) or not consent_id:
            return None
        return Token(int(revision), int(mask, 16), taxonomy, consent_id, int(issued.timestamp()))

    @staticmethod
    def now() -> int:
        return int(time.time())
