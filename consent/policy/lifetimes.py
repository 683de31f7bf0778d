"""How long a choice lasts: acceptance and refusal each have their own lifetime.

A choice is a *refusal* when it grants no optional category (``reject_all``, a
withdrawal, or saving with every box unticked); any choice that grants at least one
optional category is an *acceptance*. Both lifetimes count from the issue time that
itsdangerous signs into the token, so a client cannot extend them by keeping the
cookie longer or editing its ``Max-Age``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import ConsentCookieSettings

DAY = 86_400


@dataclass(frozen=True, slots=True)
class Lifetimes:
    accept: int  # seconds
    refuse: int
    optional_mask: int

    @classmethod
    def from_settings(cls, cookie: ConsentCookieSettings, optional_mask: int) -> Lifetimes:
        accept = cookie.accept_days if cookie.accept_days is not None else cookie.max_age_days
        refuse = cookie.refuse_days if cookie.refuse_days is not None else cookie.max_age_days
        return cls(accept * DAY, refuse * DAY, optional_mask)

    @property
    def longest(self) -> int:
        """What the signer accepts at most; each token is then held to its own kind."""
        return max(self.accept, self.refuse)

    def of(self, mask: int) -> int:
        """The lifetime of a choice that grants ``mask``."""
        return self.accept if mask & self.optional_mask else self.refuse
