"""Rounds of groups; each group timed over one window, all its rows at the same time.

For each group and round, one wrk per row starts loading that row's server, all at
once. After a warm-up (connections open, the servers' caches warm again after the other
groups had the CPU), every server's CPU time and page counter (``GET /served``, on a
short connection of its own) are read, and read again, in the same order, when the
window has passed; then every wrk is stopped and its output checked. A row's figure for
the window is ΔCPU ÷ Δpages, both counted by its server over the same window: neither
wrk's start and stop, nor pages sent but not yet answered, nor the warm-up are in it.
The counter's own requests are not pages and are not counted; one of them falls inside
the window, a fraction of a ms among thousands of pages.

The servers of a group share one CPU: whatever else the machine does in a window hits
all of them alike, and cancels in the differences and ratios taken within the window.
Rotating the groups' order from round to round spreads the rest over all groups alike.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from . import procstat, wrk
from .groups import Group, rotated
from .rows import Row
from .servers import Server

# wrk's -d is only a backstop: it is stopped when the window has passed. This much
# longer, so that a slow counter read on a busy machine never sees wrk end by itself.
BACKSTOP_SECONDS = 2.0


class MeasureError(RuntimeError):
    """A window that cannot be a figure: no page counted, or pages wrk did not send."""


@dataclass(frozen=True, slots=True)
class Reading:
    """The server's counters at one moment."""

    cpu_seconds: float  # utime + stime, all its threads
    pages: int  # the `/` pages it has served


@dataclass(frozen=True, slots=True)
class Sample:
    """One row in one timed window."""

    cpu_us: float  # server CPU time per page, µs
    pages: int  # pages the server served in the window
    requests_per_second: float  # wrk's, over its whole run: only for the busy warning


def parse_served(body: bytes) -> int:
    """The count in the body of ``GET /served``: ``{"pages": N}``."""
    try:
        pages = json.loads(body)["pages"]
    except (ValueError, TypeError, KeyError):
        raise MeasureError(f"not a page count from /served: {body[:80]!r}") from None
    if type(pages) is not int or pages < 0:
        raise MeasureError(f"not a page count from /served: {body[:80]!r}")
    return pages


def pages_served(origin: str) -> int:
    """The server's page counter, asked on a new connection closed after the answer."""
    url = urlsplit(origin)
    if url.hostname is None or url.port is None:
        raise ValueError(f"an origin without host or port: {origin}")
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10.0)
    try:
        connection.request("GET", "/served", headers={"Connection": "close"})
        response = connection.getresponse()
        status, body = response.status, response.read()
    finally:
        connection.close()
    if status != 200:
        raise MeasureError(f"GET /served answered {status}")
    return parse_served(body)


def read_server(server: Server) -> Reading:
    """CPU time first, then the counter, at both ends of a window: two windows of the
    same length, a few ms apart."""
    cpu_seconds = procstat.cpu_seconds(server.pid)
    return Reading(cpu_seconds, pages_served(server.origin))


def cpu_us_per_page(before: Reading, after: Reading) -> float:
    """ΔCPU ÷ Δpages between two readings, in µs."""
    pages = after.pages - before.pages
    if pages <= 0:
        raise MeasureError(f"the server counted {pages} pages in the window")
    cpu_seconds = after.cpu_seconds - before.cpu_seconds
    if cpu_seconds < 0:
        raise MeasureError(f"the server's CPU time went back by {-cpu_seconds} s")
    return cpu_seconds / pages * 1e6


@dataclass(frozen=True, slots=True)
class Target:
    """What one row of a group needs: the server it loads and its wrk script."""

    key: str  # the row
    server: Server
    script: Path


def time_group(
    targets: Sequence[Target], *, warmup: float, window: float, wrk_cpu: int | None
) -> dict[str, Sample]:
    """One window of ``window`` seconds after ``warmup`` seconds of load, every row of the
    group loading its own server at the same time; each row's sample, keyed by row."""
    pids = [target.server.pid for target in targets]
    if len(set(pids)) != len(pids) or len({target.key for target in targets}) != len(targets):
        raise ValueError(f"a group loads each server once: {[target.key for target in targets]}")
    seconds = warmup + window + BACKSTOP_SECONDS
    with ExitStack() as started:
        runs = [
            started.enter_context(
                wrk.running(f"{target.server.origin}/", target.script, seconds, wrk_cpu)
            )
            for target in targets
        ]
        time.sleep(warmup)
        for run in runs:
            run.pin()  # wrk's thread, if it started after wrk was pinned
        before = [read_server(target.server) for target in targets]
        time.sleep(window)
        after = [read_server(target.server) for target in targets]
        for run in runs:
            run.interrupt()  # all at once: none goes on loading the CPU alone
        summaries = [run.stop() for run in runs]
    samples = {}
    for target, start, end, summary in zip(targets, before, after, summaries, strict=True):
        cpu_us = cpu_us_per_page(start, end)
        pages = end.pages - start.pages
        if pages > summary.requests + wrk.CONNECTIONS:
            raise MeasureError(
                f"the {target.server.name} server served {pages} pages in the window, wrk "
                f"received {summary.requests} in its whole run: something else loaded it"
            )
        samples[target.key] = Sample(cpu_us, pages, summary.requests_per_second)
    return samples


# Every group's samples, keyed by group then row: one per round.
Samples = dict[str, dict[str, list[Sample]]]


def run_rounds(
    groups: Sequence[Group],
    rows: Mapping[str, Row],
    servers: Mapping[str, Server],
    scripts: Mapping[str, Path],
    *,
    rounds: int,
    warmup: float,
    window: float,
    wrk_cpu: int | None,
    progress: Callable[[str], None],
) -> Samples:
    """Every round times every group once, in an order rotated from round to round."""
    samples: Samples = {group.key: {key: [] for key in group.rows} for group in groups}
    for round_index in range(rounds):
        progress(f"round {round_index + 1}/{rounds}")
        for group in rotated(groups, round_index):
            targets = [Target(key, servers[rows[key].server], scripts[key]) for key in group.rows]
            window_samples = time_group(targets, warmup=warmup, window=window, wrk_cpu=wrk_cpu)
            for key, sample in window_samples.items():
                samples[group.key][key].append(sample)
    return samples
