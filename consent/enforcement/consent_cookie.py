"""Our own cookie: its names, the choice it carries, and how it is written.

The value is a token signed with itsdangerous (enforcement/tokens.py). Reading one is
an HMAC check and a parse, so a verified value is kept (``Reading``) until its lifetime
runs out: a returning visitor costs one dictionary probe. Anything that does not verify
reads as "undecided", never as an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import formatdate
from time import time

from starlette.types import Scope

from ..policy.lifetimes import Lifetimes
from ..policy.policy import Policy
from ..policy.state import ConsentState
from .cookies import build_set_cookie, consent_cookie_names
from .permit import Permit
from .tokens import TokenSigner
from .verdicts import Verdicts

CACHE_SIZE = 8192
# An invalid value is remembered for an hour, then checked again (keys may change).
_INVALID_FOR_SECONDS = 3600
_SECURE_SCHEMES = ("https", "wss")


class Reading:
    """A consent cookie value, as verified: cached until its lifetime runs out.

    ``permit`` is the visitor's current choice; ``None`` when the value is not valid
    now (forged, expired, malformed) or is valid but outdated (an older ``revision``, or
    categories, cookies or texts that changed). An outdated one keeps ``consent_id``, so
    that the visitor's next choice links up with their history. ``views`` holds the
    permits derived from this one per regime and signal (signals/regimes.py).
    """

    __slots__ = ("consent_id", "expires_at", "permit", "views")

    def __init__(self, permit: Permit | None, consent_id: str | None, expires_at: float):
        self.permit = permit
        self.consent_id = consent_id
        self.expires_at = expires_at
        self.views: dict[object, Permit] = {}


class ConsentCookie:
    """Reads and writes the consent cookie of one policy."""

    def __init__(self, policy: Policy, secret_keys: Sequence[bytes], verdicts: Verdicts) -> None:
        self.policy = policy
        self.verdicts = verdicts
        settings = policy.config.cookie
        self.settings = settings
        self.plain_name, self.secure_name = consent_cookie_names(settings.name, settings.domain)
        # Acceptance and refusal each last their own time from the signed issue time;
        # the signer refuses anything older than the longer of the two.
        self.lifetimes = Lifetimes.from_settings(settings, policy.optional_mask)
        self.signer = TokenSigner(secret_keys, max_age_seconds=self.lifetimes.longest)
        self._cache: dict[bytes, Reading] = {}

    def is_secure(self, scope: Scope) -> bool:
        """Whether this request gets the secure (prefixed) cookie: ``secure: auto``
        follows the scheme."""
        secure = self.settings.secure
        if secure == "auto":
            return scope.get("scheme") in _SECURE_SCHEMES
        return secure

    # -- reading ----------------------------------------------------------------

    def read(self, value: bytes) -> Reading:
        """What the cookie ``value`` says, from the cache while it lasts."""
        reading = self._cache.get(value)
        now = time()
        if reading is None or now >= reading.expires_at:
            reading = self._verify(value, now)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))  # the oldest entry
            self._cache[value] = reading
        return reading

    def _verify(self, value: bytes, now: float) -> Reading:
        policy = self.policy
        token = self.signer.verify(value)
        if token is None:
            return Reading(None, None, now + _INVALID_FOR_SECONDS)
        mask = token.mask & policy.all_mask
        expires_at = token.issued_at + self.lifetimes.of(mask)  # acceptance or refusal
        if now >= expires_at:
            return Reading(None, None, now + _INVALID_FOR_SECONDS)
        if (
            token.revision != policy.config.revision
            or token.taxonomy not in policy.accepted_taxonomies
        ):
            return Reading(None, token.consent_id, expires_at)  # ask again, same id
        state = policy.decided(mask, consent_id=token.consent_id, issued_at=token.issued_at)
        return Reading(Permit(state, self.verdicts.allowed(mask)), token.consent_id, expires_at)

    # -- writing ----------------------------------------------------------------

    def write(self, state: ConsentState, *, secure: bool) -> bytes:
        """The ``Set-Cookie`` value for a decided ``state``: HttpOnly, SameSite=Lax,
        Path=/, living as long as its kind of choice (acceptance or refusal)."""
        if state.consent_id is None:
            raise ValueError("only a decided state with a consent id is written")
        mask = self.policy.mask_of(state.granted)
        token = self.signer.sign(
            revision=self.policy.config.revision,
            mask=mask,
            taxonomy=self.policy.taxonomy,
            consent_id=state.consent_id,
        )
        lifetime = self.lifetimes.of(mask)
        return build_set_cookie(
            self.secure_name if secure else self.plain_name,
            token,
            max_age=lifetime,
            expires=formatdate(self.signer.now() + lifetime, usegmt=True),
            path="/",
            domain=self.settings.domain,
            secure=secure,
            http_only=True,
            same_site="Lax",
        )

    def now(self) -> int:
        """The time choices are stamped with (the signer's clock)."""
        return self.signer.now()
