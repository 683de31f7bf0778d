"""The ratios reported: five goals, and figures for information."""

from __future__ import annotations

from dataclasses import dataclass

from .figures import Figures

# DESIGN.md's reference: SessionMiddleware with a valid session, re-signed per response.
# Starlette 1.x only re-signs a session the request changed; the page changes it.
REFERENCE = "session-resign"
READ_ONLY = "session"  # the same, the session only read (verified, not re-signed)


@dataclass(frozen=True, slots=True)
class Ratio:
    """``row`` ÷ ``over``: overheads, or with ``whole`` the CPU per request of both."""

    row: str
    over: str
    over_label: str
    limit: float | None = None  # None: reported for information, no goal
    whole: bool = False

    def value(self, figures: Figures) -> float | None:
        """None when the denominator is not a positive cost (no meaningful ratio)."""
        numerator: float | None
        denominator: float | None
        if self.whole:
            numerator, denominator = figures.cpu_us(self.row), figures.cpu_us(self.over)
        else:
            numerator = figures.overhead_us(self.row)
            denominator = figures.overhead_us(self.over)
        if numerator is None or denominator is None:
            raise ValueError(f"{self.row} or {self.over} has no baseline to take overhead from")
        if denominator <= 0:
            return None
        return numerator / denominator

    def passed(self, figures: Figures) -> bool | None:
        """None for an information ratio; a goal without a value is missed."""
        if self.limit is None:
            return None
        value = self.value(figures)
        return value is not None and value <= self.limit


GOALS = (
    Ratio("a", REFERENCE, "session re-signed", 0.5),
    Ratio("b", REFERENCE, "session re-signed", 0.6),
    Ratio("c", REFERENCE, "session re-signed", 0.8),
    Ratio("large", "a", "(a)", 1.1),
    Ratio("unseen-200", "known-200", "200 known, whole CPU", 2.0, whole=True),
)
# For information: against the reference, and every consent row against the read-only session.
CONSENT_ROWS = ("a", "b", "c", "large", "regimes-csp")
INFORMATION = (
    Ratio(READ_ONLY, REFERENCE, "session re-signed"),
    Ratio("regimes-csp", REFERENCE, "session re-signed"),
    *(Ratio(row, READ_ONLY, "session read") for row in CONSENT_ROWS),
)


def missed(figures: Figures) -> list[Ratio]:
    return [goal for goal in GOALS if not goal.passed(figures)]
