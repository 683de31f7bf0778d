"""What the windows give: per group and row, the CPU per page and the overhead over the
row's bare baseline, each window's and their median over the rounds.

An overhead is taken within a window (the row minus its baseline, both timed together),
and only then is the median taken: never a median minus a median.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .groups import Group
from .measure import Sample
from .rows import ROWS_BY_KEY, Row

# Requests/s of a row moving more than this across rounds: something else took the
# CPU. The CPU figure is kept (it holds steady); the report says so.
BUSY_SPREAD = 0.30


@dataclass(frozen=True, slots=True)
class Spread:
    """The median of per-round values, with the lowest and the highest."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("no value to take a median of")
        return cls(statistics.median(values), min(values), max(values))


@dataclass(frozen=True, slots=True)
class RowFigure:
    row: Row
    cpu: Spread  # µs per page
    overhead: Spread | None  # µs per page over the baseline in the same window; None: none
    # (max - min) / median of wrk's requests/s over the rounds.
    throughput_spread: float

    @property
    def busy(self) -> bool:
        return self.throughput_spread > BUSY_SPREAD


@dataclass(frozen=True, slots=True)
class GroupFigures:
    group: Group
    samples: Mapping[str, Sequence[Sample]]  # by row: one per round

    @classmethod
    def of(cls, group: Group, samples: Mapping[str, Sequence[Sample]]) -> GroupFigures:
        counts = {key: len(samples[key]) for key in group.rows}
        if len(set(counts.values())) != 1 or 0 in counts.values():
            raise ValueError(f"group {group.key}: not one sample per round for every row {counts}")
        return cls(group, {key: samples[key] for key in group.rows})

    @property
    def rounds(self) -> int:
        return len(next(iter(self.samples.values())))

    def cpu_us(self, key: str) -> list[float]:
        """The row's CPU per page in each window."""
        return [sample.cpu_us for sample in self.samples[key]]

    def overhead_us(self, key: str) -> list[float] | None:
        """The row's CPU per page minus its baseline's, window by window; None without one."""
        baseline = ROWS_BY_KEY[key].baseline
        if baseline is None:
            return None
        return [
            row - bare for row, bare in zip(self.cpu_us(key), self.cpu_us(baseline), strict=True)
        ]

    def row(self, key: str) -> RowFigure:
        rates = [sample.requests_per_second for sample in self.samples[key]]
        overheads = self.overhead_us(key)
        return RowFigure(
            ROWS_BY_KEY[key],
            Spread.of(self.cpu_us(key)),
            None if overheads is None else Spread.of(overheads),
            (max(rates) - min(rates)) / statistics.median(rates),
        )

    @property
    def rows(self) -> dict[str, RowFigure]:
        return {key: self.row(key) for key in self.group.rows}


@dataclass(frozen=True, slots=True)
class Figures:
    groups: Mapping[str, GroupFigures]  # by group key, in the groups' order

    @classmethod
    def of(
        cls, groups: Sequence[Group], samples: Mapping[str, Mapping[str, Sequence[Sample]]]
    ) -> Figures:
        return cls({group.key: GroupFigures.of(group, samples[group.key]) for group in groups})
