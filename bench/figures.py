"""A row's figure over its rounds (the median) and its overhead over its bare baseline."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .measure import Sample
from .rows import Row

# Requests/s of a row moving more than this across rounds: something else took the
# CPU. The CPU figure is kept (it holds steady); the report says so.
BUSY_SPREAD = 0.30


@dataclass(frozen=True, slots=True)
class RowFigure:
    row: Row
    median_us: float
    min_us: float
    max_us: float
    # (max - min) / median of wrk's requests/s over the rounds.
    throughput_spread: float

    @classmethod
    def of(cls, row: Row, samples: Sequence[Sample]) -> RowFigure:
        cpu = [sample.cpu_us for sample in samples]
        rates = [sample.requests_per_second for sample in samples]
        spread = (max(rates) - min(rates)) / statistics.median(rates)
        return cls(row, statistics.median(cpu), min(cpu), max(cpu), spread)

    @property
    def busy(self) -> bool:
        return self.throughput_spread > BUSY_SPREAD


@dataclass(frozen=True, slots=True)
class Figures:
    rows: Mapping[str, RowFigure]  # by row key, in the rows' order

    @classmethod
    def of(cls, rows: Sequence[Row], samples: Mapping[str, Sequence[Sample]]) -> Figures:
        return cls({row.key: RowFigure.of(row, samples[row.key]) for row in rows})

    def cpu_us(self, key: str) -> float:
        return self.rows[key].median_us

    def overhead_us(self, key: str) -> float | None:
        """The row's CPU per request minus its bare baseline's; None without a baseline."""
        baseline = self.rows[key].row.baseline
        if baseline is None:
            return None
        return self.cpu_us(key) - self.cpu_us(baseline)
