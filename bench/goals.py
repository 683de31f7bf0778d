"""The ratios reported: five goals, and three figures for information.

Every ratio is taken within one group, window by window: the overhead of a row over the
overhead of another row timed at the same time (or, with ``whole``, their whole CPU per
page); its figure is the median of the windows' ratios over the rounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .figures import Figures, Spread
from .groups import Group, GroupError

# DESIGN.md's reference: SessionMiddleware with a valid session, re-signed per response.
# Starlette 1.x only re-signs a session the request changed; the page changes it. Each
# goal's reference is given the goal's own request, plus the session cookie.
REFERENCE = "session-resign"
READ_ONLY = "session"  # the same, the session only read (verified, not re-signed)


def window_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float] | None:
    """Each window's ratio; None when a window's denominator is not a positive cost
    (no meaningful ratio: the row would be cheaper than its baseline)."""
    if len(numerators) != len(denominators):
        raise ValueError("not one numerator per denominator")
    if any(denominator <= 0 for denominator in denominators):
        return None
    return [n / d for n, d in zip(numerators, denominators, strict=True)]


@dataclass(frozen=True, slots=True)
class Ratio:
    """``row`` ÷ ``over`` in group ``group``: overheads, or with ``whole`` the CPU per page."""

    group: str
    row: str
    over: str
    label: str
    limit: float | None = None  # None: reported for information, no goal
    whole: bool = False

    def windows(self, figures: Figures) -> list[float] | None:
        """The ratio in each window; None when one of them is not meaningful."""
        group = figures.groups[self.group]
        numerators: list[float] | None
        denominators: list[float] | None
        if self.whole:
            numerators, denominators = group.cpu_us(self.row), group.cpu_us(self.over)
        else:
            numerators, denominators = group.overhead_us(self.row), group.overhead_us(self.over)
        if numerators is None or denominators is None:
            raise ValueError(f"{self.row} or {self.over} has no baseline to take overhead from")
        return window_ratios(numerators, denominators)

    def spread(self, figures: Figures) -> Spread | None:
        values = self.windows(figures)
        return None if values is None else Spread.of(values)

    def value(self, figures: Figures) -> float | None:
        """The median of the windows' ratios."""
        spread = self.spread(figures)
        return None if spread is None else spread.median

    def passed(self, figures: Figures) -> bool | None:
        """None for an information ratio; a goal without a value is missed."""
        if self.limit is None:
            return None
        value = self.value(figures)
        return value is not None and value <= self.limit


GOALS = (
    Ratio("a", "a", REFERENCE, "(a) ÷ session re-signed", 0.5),
    Ratio("b", "b", "session-resign-b", "(b) ÷ session re-signed, (b)'s request", 0.6),
    Ratio("c", "c", "session-resign-c", "(c) ÷ session re-signed, (c)'s request", 0.8),
    Ratio("large", "large", "a", "5,000 cookies ÷ the example, both (a)", 1.1),
    Ratio("200", "unseen-200", "known-200", "200 unseen ÷ 200 known, whole CPU", 2.0, whole=True),
)
INFORMATION = (
    Ratio("sessions", READ_ONLY, REFERENCE, "session read only ÷ session re-signed"),
    Ratio("regimes-csp", "regimes-csp", REFERENCE, "regimes + CSP ÷ session re-signed"),
)


def check_ratios(ratios: Sequence[Ratio], groups: Sequence[Group]) -> None:
    """Both rows of every ratio, and so their baselines, are timed in the ratio's group."""
    by_key = {group.key: group for group in groups}
    for ratio in ratios:
        group = by_key.get(ratio.group)
        if group is None:
            raise GroupError(f"{ratio.label}: no group {ratio.group}")
        missing = [key for key in (ratio.row, ratio.over) if key not in group.rows]
        if missing:
            raise GroupError(f"{ratio.label}: {missing} not in group {ratio.group}")


def missed(figures: Figures) -> list[Ratio]:
    return [goal for goal in GOALS if not goal.passed(figures)]
