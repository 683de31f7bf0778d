"""The printed report: a table per group, the goals with PASS/FAIL, the environment."""

from __future__ import annotations

from dataclasses import dataclass

from .figures import BUSY_SPREAD, Figures, RowFigure, Spread
from .goals import GOALS, INFORMATION, Ratio
from .pinning import Pinning


@dataclass(frozen=True, slots=True)
class RunSettings:
    rounds: int
    seconds: float  # the timed window of each group and round
    warmup: float  # seconds of load before the window
    visitors: int
    threads: int  # of each wrk
    connections: int  # of each wrk
    pinning: Pinning | None


def _number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _spread(spread: Spread | None, digits: int) -> tuple[str, str]:
    """The median and the min-max cells."""
    if spread is None:
        return "-", ""
    low, high = _number(spread.low, digits), _number(spread.high, digits)
    return _number(spread.median, digits), f"{low}-{high}"


def _row_line(key: str, figure: RowFigure, width: int) -> str:
    cpu, cpu_range = _spread(figure.cpu, 1)
    overhead, overhead_range = _spread(figure.overhead, 1)
    return (
        f"{key:<16} {figure.row.label:<{width}} {figure.row.server:<19} {cpu:>11} "
        f"{cpu_range:>13} {overhead:>8} {overhead_range:>11}"
    ).rstrip()


def _ratio_line(ratio: Ratio, figures: Figures, width: int) -> str:
    value, spread = _spread(ratio.spread(figures), 2)
    if value == "-":
        value, spread = "n/a", "(a window's cost was not positive)"
    line = f"{ratio.row:<16} {ratio.label:<{width}} {value:>6} {spread:>11}"
    if ratio.limit is not None:
        verdict = "PASS" if ratio.passed(figures) else "FAIL"
        line += f"  ≤ {ratio.limit:<4g} {verdict}"
    return line.rstrip()


def _environment(settings: RunSettings, environment: str) -> str:
    rounds = f"{settings.rounds} round{'s' if settings.rounds > 1 else ''}"
    pinning = settings.pinning
    sharing = "the machine's CPUs" if pinning is None else f"CPU {pinning.server}"
    return (
        f"{environment}; {rounds}, each timing every group once (order rotated), a window of "
        f"{settings.seconds:g} s after {settings.warmup:g} s of warm-up; the rows of a group "
        f"run concurrently, each under its own wrk -t{settings.threads} "
        f"-c{settings.connections}, their servers sharing {sharing}; medians; "
        f"{settings.visitors} visitors; {Pinning.describe(pinning)}"
    )


def render(figures: Figures, settings: RunSettings, environment: str) -> str:
    groups = list(figures.groups.values())
    rows = {(group.group.key, key): group.row(key) for group in groups for key in group.group.rows}
    width = max(len(figure.row.label) for figure in rows.values())
    header = (
        f"{'row':<16} {'what':<{width}} {'server':<19} {'CPU µs/page':>11} {'min-max':>13} "
        f"{'overhead':>8} {'min-max':>11}"
    )
    lines = [
        "consent benchmark: the server's CPU time per page (µs), uvicorn serving the shop",
        "under wrk over loopback, counted by each server over a window. The rows of a group",
        "are timed at the same time, their servers sharing a CPU; overhead = the row - the",
        "bare app given the same request, in the same window. Medians over the rounds.",
    ]
    for group in groups:
        lines += ["", f"group {group.group.key}: {group.group.title}", header, "-" * len(header)]
        lines += [_row_line(key, rows[group.group.key, key], width) for key in group.group.rows]

    ratio_width = max(len(ratio.label) for ratio in (*GOALS, *INFORMATION))
    ratio_header = (
        f"{'goal':<16} {'ratio, each window':<{ratio_width}} {'median':>6} {'min-max':>11}"
    )
    lines += [
        "",
        f"Goals: a ratio in each window (of rows timed together), median over "
        f"{settings.rounds} round{'s' if settings.rounds > 1 else ''}",
        f"{ratio_header}  limit  result",
        "-" * (len(ratio_header) + 15),
        *(_ratio_line(goal, figures, ratio_width) for goal in GOALS),
        "",
        "For information (no goal):",
        *(_ratio_line(info, figures, ratio_width) for info in INFORMATION),
        "",
    ]
    missed = [goal.row for goal in GOALS if not goal.passed(figures)]
    summary = f"Goals: {len(GOALS) - len(missed)} of {len(GOALS)} met"
    lines.append(summary + (f"; missed: {', '.join(missed)}" if missed else "."))
    busy: dict[str, float] = {}  # by group: the largest spread of its rows' requests/s
    for (group_key, _), figure in rows.items():
        if figure.busy:
            busy[group_key] = max(busy.get(group_key, 0.0), figure.throughput_spread)
    if busy:
        spreads = ", ".join(f"{key} {spread:.0%}" for key, spread in busy.items())
        lines.append(
            f"warning: a busy machine: wrk's requests/s varied by more than {BUSY_SPREAD:.0%} "
            f"across rounds in groups {spreads}; the ratios are kept (taken within each window, "
            "where all the rows of a group shared whatever else ran; see their min-max)"
        )
    lines += ["", _environment(settings, environment)]
    return "\n".join(lines)
