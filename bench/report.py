"""The printed report: a table of costs and the three goals with PASS/FAIL."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

import starlette

from .measure import Measurement

SESSION_RATIO_GOAL = 0.35
LARGE_RATIO_GOAL = 1.3
# A median SessionMiddleware batch this much above its fastest chunks: another process
# took the CPU often enough to make the minimums themselves unsteady.
BUSY_MARGIN = 0.25


@dataclass(frozen=True, slots=True)
class Goal:
    label: str
    value: float
    limit: float

    @property
    def passed(self) -> bool:
        return self.value <= self.limit


def goals(measurement: Measurement) -> list[Goal]:
    session_ratio, large_ratio, featured_ratio = measurement.goal_ratios()
    return [
        Goal("ConsentMiddleware overhead / SessionMiddleware overhead", session_ratio,
             SESSION_RATIO_GOAL),
        Goal(f"overhead with {measurement.large_size:,} declared cookies / with the example",
             large_ratio, LARGE_RATIO_GOAL),
        Goal("the same with regimes + CSP / SessionMiddleware overhead", featured_ratio,
             SESSION_RATIO_GOAL),
    ]  # fmt: skip


def environment() -> str:
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"Starlette {starlette.__version__}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )


def render(measurement: Measurement) -> str:
    m = measurement
    lines = [
        "consent benchmark: in-process ASGI, fake receive/send, no server",
        environment(),
        f"{m.visitors:,} visitors in turn, 10 Set-Cookie per response; {m.rounds} rounds "
        f"in {m.seconds:.1f} s ({'stable' if m.stable else 'NOT stable: time limit reached'})",
        "",
        f"{'stack':<50} {'µs/req min':>10} {'median':>8} {'overhead':>9}",
    ]
    for variant in m.variants:
        overhead = "" if variant.key == "bare" else f"{m.overhead_us(variant.key):9.2f}"
        note = "  (info)" if variant.informational else ""
        lines.append(
            f"{variant.label:<50} {m.per_request_us(variant.key):10.2f} "
            f"{m.median_us(variant.key):8.2f} {overhead:>9}{note}"
        )
    busy = m.median_us("session") / m.per_request_us("session") - 1
    if busy > BUSY_MARGIN:
        lines += [
            "",
            f"The machine was busy: a median batch took {busy:.0%} longer than the fastest chunks.",
            "Ratios then move by several per cent between runs; run again when it is quiet.",
        ]
    lines += ["", f"{'goal':<64} {'value':>6} {'limit':>7}"]
    for goal in goals(m):
        verdict = "PASS" if goal.passed else "FAIL"
        lines.append(f"{goal.label:<64} {goal.value:6.3f} {'≤ ' + str(goal.limit):>7}  {verdict}")
    return "\n".join(lines)
