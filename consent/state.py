"""What the visitor has granted, as the app sees it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConsentState:
    """The visitor's consent for one request.

    ``granted`` always holds the required categories. ``decided`` is false until the
    visitor chose (and again after expiry or a ``revision`` bump). ``gpc`` is true when
    this request's ``Sec-GPC: 1`` was applied to an undecided visitor.
    """

    decided: bool
    granted: frozenset[str]
    revision: int
    consent_id: str | None = None
    issued_at: int | None = None
    gpc: bool = False

    def allows(self, category: str) -> bool:
        return category in self.granted
