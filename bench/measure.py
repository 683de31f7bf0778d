"""Interleaved rounds: every round times every row once, in an order rotated each round.

A row's figure for one run is the server's CPU time over the run (read from /proc
just before and after wrk) divided by the requests wrk completed. Interleaving spreads
whatever else the machine does over all rows alike instead of over one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import procstat, wrk
from .rows import Row
from .servers import Server


@dataclass(frozen=True, slots=True)
class Sample:
    """One timed run of one row."""

    cpu_us: float  # server CPU time per request, µs
    requests: int
    requests_per_second: float


def time_row(server: Server, script: Path, seconds: float) -> Sample:
    before = procstat.read(server.pid)
    run = wrk.run(f"{server.origin}/", script, seconds)
    after = procstat.read(server.pid)
    cpu_us = (after.seconds - before.seconds) / run.requests * 1e6
    return Sample(cpu_us, run.requests, run.requests_per_second)


def rotated(rows: Sequence[Row], round_index: int) -> list[Row]:
    start = round_index % len(rows)
    return [*rows[start:], *rows[:start]]


def run_rounds(
    rows: Sequence[Row],
    servers: Mapping[str, Server],
    scripts: Mapping[str, Path],
    *,
    rounds: int,
    seconds: float,
    progress: Callable[[str], None],
) -> dict[str, list[Sample]]:
    """Every row's samples, one per round, keyed by row."""
    samples: dict[str, list[Sample]] = {row.key: [] for row in rows}
    for round_index in range(rounds):
        progress(f"round {round_index + 1}/{rounds}")
        for row in rotated(rows, round_index):
            sample = time_row(servers[row.stack], scripts[row.key], seconds)
            samples[row.key].append(sample)
    return samples
