"""Counts and opt-in rates per category over time, as a table and as a PNG chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

Period = Literal["day", "week", "month"]


@dataclass(frozen=True, slots=True)
class Row:
    period: str
    decisions: int
    granted: dict[str, int]

    def rate(self, category: str) -> float:
        return self.granted.get(category, 0) / self.decisions if self.decisions else 0.0


def period_of(day: str, period: Period) -> str:
    if period == "day":
        return day
    if period == "month":
        return day[:7]
    moment = date.fromisoformat(day)
    return (moment - timedelta(days=moment.weekday())).isoformat()  # the week's Monday


def aggregate(
    counts: list[tuple[str, str, int]], categories: tuple[str, ...], period: Period
) -> list[Row]:
    """Fold ``(day, granted, n)`` rows into one row per period."""
    totals: dict[str, int] = {}
    granted: dict[str, dict[str, int]] = {}
    for day, granted_text, count in counts:
        key = period_of(day, period)
        totals[key] = totals.get(key, 0) + count
        bucket = granted.setdefault(key, {})
        for name in granted_text.split(",") if granted_text else ():
            if name in categories:
                bucket[name] = bucket.get(name, 0) + count
    return [Row(key, totals[key], granted[key]) for key in sorted(totals)]


def table(rows: list[Row], categories: tuple[str, ...]) -> str:
    header = ("period", "decisions", *(f"{name} opt-in" for name in categories))
    lines: list[tuple[str, ...]] = [header]
    for row in rows:
        lines.append(
            (
                row.period,
                str(row.decisions),
                *(f"{row.rate(name):.1%}" for name in categories),
            )
        )
    total = sum(row.decisions for row in rows)
    if rows:
        overall = Row("all", total, {})
        for name in categories:
            overall.granted[name] = sum(row.granted.get(name, 0) for row in rows)
        lines.append(("all", str(total), *(f"{overall.rate(name):.1%}" for name in categories)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        out.append(
            "  ".join(
                cell.rjust(w) if i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def plot(rows: list[Row], categories: tuple[str, ...], path: Path) -> None:
    """A PNG: opt-in rate per category (lines) over the decisions per period (bars)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError(
            "--plot needs matplotlib: pip install 'asgi-cookie-consent[plot]'"
        ) from None
    periods = [row.period for row in rows]
    figure, rates = plt.subplots(figsize=(10, 5))
    counts = rates.twinx()
    counts.bar(periods, [row.decisions for row in rows], color="#dddddd", label="decisions")
    counts.set_ylabel("decisions")
    rates.set_zorder(counts.get_zorder() + 1)
    rates.patch.set_visible(False)
    for name in categories:
        rates.plot(periods, [100 * row.rate(name) for row in rows], marker="o", label=name)
    rates.set_ylim(0, 100)
    rates.set_ylabel("opt-in rate (%)")
    rates.set_title("Consent decisions and opt-in rate per category")
    rates.legend(loc="upper left")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, format="png")
    plt.close(figure)
