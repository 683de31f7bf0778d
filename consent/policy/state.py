"""What the visitor has granted, as the app sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Which law applies to the visitor (docs/regimes.md): prior consent, a refusable
# default, or information only.
Mode = Literal["opt-in", "opt-out", "notice"]


@dataclass(frozen=True, slots=True)
class ConsentState:
    """The visitor's consent for one request.

    ``granted`` always holds the required categories. ``decided`` is false until the
    visitor chose (and again after expiry or a ``revision`` bump). ``gpc`` is true when
    this request's ``Sec-GPC: 1`` was applied to an undecided visitor. ``mode`` is the
    regime of this request and ``region`` the visitor's region from the trusted geo
    header (``None`` when none is configured or it sent nothing usable).
    """

    decided: bool
    granted: frozenset[str]
    revision: int
    consent_id: str | None = None
    issued_at: int | None = None
    gpc: bool = False
    mode: Mode = "opt-in"
    region: str | None = None

    def allows(self, category: str) -> bool:
        return category in self.granted
