"""Interleaved rounds; each row timed over a window inside a wrk run, counted by the server.

For each row and round, wrk starts loading the row's server. After a warm-up
(connections open, the server's caches warm again after the other stacks had the CPU),
the server's CPU time (``/proc``) and its page counter (``GET /served``, on a short
connection of its own) are read, and read again when the window has passed; then wrk is
stopped and its output checked. The row's figure for the round is ΔCPU ÷ Δpages, both
counted by the server over the same window: neither wrk's start and stop, nor pages
sent but not yet answered, nor the warm-up are in it. The counter's own requests are
not pages and are not counted; one of them falls inside the window, a fraction of a ms
among thousands of pages.

Interleaving spreads whatever else the machine does over all rows alike instead of
over one.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from . import procstat, wrk
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
    """One timed window of one row."""

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
    cpu_seconds = procstat.read(server.pid).seconds
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


def time_row(
    server: Server, script: Path, *, warmup: float, window: float, wrk_cpu: int | None
) -> Sample:
    """One window of ``window`` seconds after ``warmup`` seconds of load."""
    url = f"{server.origin}/"
    with wrk.running(url, script, warmup + window + BACKSTOP_SECONDS, wrk_cpu) as load:
        time.sleep(warmup)
        load.pin()  # wrk's thread, if it started after wrk was pinned
        before = read_server(server)
        time.sleep(window)
        after = read_server(server)
        run = load.stop()
    cpu_us = cpu_us_per_page(before, after)
    pages = after.pages - before.pages
    if pages > run.requests + wrk.CONNECTIONS:
        raise MeasureError(
            f"the {server.stack} server served {pages} pages in the window, wrk received "
            f"{run.requests} in its whole run: something else loaded it"
        )
    return Sample(cpu_us, pages, run.requests_per_second)


def rotated(rows: Sequence[Row], round_index: int) -> list[Row]:
    start = round_index % len(rows)
    return [*rows[start:], *rows[:start]]


def run_rounds(
    rows: Sequence[Row],
    servers: Mapping[str, Server],
    scripts: Mapping[str, Path],
    *,
    rounds: int,
    warmup: float,
    window: float,
    wrk_cpu: int | None,
    progress: Callable[[str], None],
) -> dict[str, list[Sample]]:
    """Every row's samples, one per round, keyed by row."""
    samples: dict[str, list[Sample]] = {row.key: [] for row in rows}
    for round_index in range(rounds):
        progress(f"round {round_index + 1}/{rounds}")
        for row in rotated(rows, round_index):
            sample = time_row(
                servers[row.stack], scripts[row.key], warmup=warmup, window=window,
                wrk_cpu=wrk_cpu,
            )  # fmt: skip
            samples[row.key].append(sample)
    return samples
