"""The printed report: one line per row, the goals with PASS/FAIL, the environment."""

from __future__ import annotations

from dataclasses import dataclass

from .figures import BUSY_SPREAD, Figures
from .goals import GOALS, INFORMATION, READ_ONLY, REFERENCE, Ratio
from .pinning import Pinning


@dataclass(frozen=True, slots=True)
class RunSettings:
    rounds: int
    seconds: float  # the timed window of each row and round
    warmup: float  # seconds of load before the window
    visitors: int
    threads: int
    connections: int
    pinning: Pinning | None


def _number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ratio_cells(key: str, figures: Figures) -> tuple[str, str, str]:
    """The ratio, goal and verdict cells of a row: its goal, else its ratio to the reference."""
    for goal in GOALS:
        if goal.row == key:
            verdict = "PASS" if goal.passed(figures) else "FAIL"
            limit = f"≤ {goal.limit} × {goal.over_label}"  # noqa: RUF001 - a multiplication
            return _number(goal.value(figures)), limit, verdict
    if key == REFERENCE:
        return "1.00", "reference", ""
    for info in INFORMATION:
        if info.row == key and info.over == REFERENCE:
            return _number(info.value(figures)), f"(info, ÷ {info.over_label})", ""
    return "", "", ""


def _information_line(figures: Figures) -> str:
    ratios: list[Ratio] = [info for info in INFORMATION if info.over == READ_ONLY]
    cells = " · ".join(f"{info.row} {_number(info.value(figures))}" for info in ratios)
    read_only = figures.overhead_us(READ_ONLY)
    return (
        f"For information, overhead ÷ SessionMiddleware read-only overhead "
        f"({_number(read_only, 1)} µs; no goal): {cells}"
    )


def render(figures: Figures, settings: RunSettings, environment: str) -> str:
    width = max(len(figure.row.label) for figure in figures.rows.values())
    header = (
        f"{'row':<14} {'what':<{width}} {'stack':<19} {'CPU µs/req':>10} {'min-max':>13} "
        f"{'overhead':>8} {'ratio':>6}  {'goal':<28} result"
    )
    lines = [
        "consent benchmark: the server's CPU time per page (µs), uvicorn serving the shop under",
        "wrk over loopback, both counted by the server over a window of each run;",
        "overhead = row - the bare app given the same request",
        "",
        header,
        "-" * len(header),
    ]
    for key, figure in figures.rows.items():
        row = figure.row
        spread = f"{figure.min_us:.1f}-{figure.max_us:.1f}"
        overhead = figures.overhead_us(key)
        ratio, goal, verdict = _ratio_cells(key, figures)
        lines.append(
            f"{key:<14} {row.label:<{width}} {row.stack:<19} {figure.median_us:>10.1f} "
            f"{spread:>13} {_number(overhead, 1) if overhead is not None else '-':>8} "
            f"{ratio:>6}  {goal:<28} {verdict}".rstrip()
        )
    lines += ["", _information_line(figures)]
    missed = [goal.row for goal in GOALS if not goal.passed(figures)]
    met = len(GOALS) - len(missed)
    summary = f"Goals: {met} of {len(GOALS)} met"
    lines.append(summary + (f"; missed: {', '.join(missed)}" if missed else "."))
    busy = [f"{key} {f.throughput_spread:.0%}" for key, f in figures.rows.items() if f.busy]
    if busy:
        lines.append(
            f"warning: a busy machine: wrk's requests/s varied by more than {BUSY_SPREAD:.0%} "
            f"across rounds for {', '.join(busy)}; the CPU figures are kept "
            "(CPU time per page moves less than requests/s; see each row's min-max)"
        )
    lines += [
        "",
        f"{environment}; {settings.rounds} round{'s' if settings.rounds > 1 else ''} "
        f"of {settings.seconds:g} s per row (after {settings.warmup:g} s of warm-up), "
        f"interleaved, medians; wrk -t{settings.threads} -c{settings.connections}, "
        f"{settings.visitors} visitors; {Pinning.describe(settings.pinning)}",
    ]
    return "\n".join(lines)
