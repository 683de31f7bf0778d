"""Run wrk for a given time and read what it reports.

wrk takes whole seconds only (``-d1s``), so it is started with a longer duration and
stopped with SIGINT, on which it stops sending and prints its summary as usual (over
the time it actually ran). The benchmark times a window inside the run (bench/measure.py)
and uses wrk's own count only for its requests/s and to check that the server served no
page wrk did not send. A run with any error is refused: a failed request is not a request
the server served. The rows of a group are timed together, each under a wrk of its own:
all are interrupted first, then each one's summary is read.
"""

from __future__ import annotations

import math
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from .pinning import pin

WRK = "/usr/bin/wrk"
THREADS = 1
CONNECTIONS = 16  # per wrk, more than a server answers at once: it is saturated, as under load

_REQUESTS = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),", re.MULTILINE)
_NON_2XX_3XX = re.compile(r"^\s*Non-2xx or 3xx responses: (\d+)", re.MULTILINE)
_SOCKET_ERRORS = re.compile(
    r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.MULTILINE
)
_SECONDS_PER_UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class WrkError(RuntimeError):
    """wrk failed, or reported failed requests."""


@dataclass(frozen=True, slots=True)
class WrkRun:
    requests: int  # responses received: "N requests in T"
    seconds: float  # T

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds


def parse(output: str) -> WrkRun:
    """wrk's summary; :class:`WrkError` on non-2xx/3xx responses or socket errors."""
    if (match := _NON_2XX_3XX.search(output)) and int(match[1]):
        raise WrkError(f"wrk got {match[1]} responses that are not 2xx or 3xx:\n{output}")
    if (match := _SOCKET_ERRORS.search(output)) and any(int(n) for n in match.groups()):
        raise WrkError(f"wrk reported socket errors:\n{output}")
    match = _REQUESTS.search(output)
    if match is None:
        raise WrkError(f"no 'N requests in T' line in wrk's output:\n{output}")
    requests, seconds = int(match[1]), float(match[2]) * _SECONDS_PER_UNIT[match[3]]
    if requests == 0 or seconds <= 0:
        raise WrkError(f"wrk completed no request:\n{output}")
    return WrkRun(requests, seconds)


def command(url: str, script: Path, seconds: float) -> list[str]:
    """``wrk -t1 -c16 -dN -s SCRIPT URL``, ``N`` whole seconds, at least ``seconds`` + 1.

    The ``-d`` is only a backstop: SIGINT ends the run.
    """
    return [
        WRK, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{math.ceil(seconds) + 1}s",
        "-s", str(script), url,
    ]  # fmt: skip


class Load:
    """A wrk run under way; :meth:`stop` ends it and reads its summary."""

    def __init__(self, process: subprocess.Popen[str], cpu: int | None) -> None:
        self._process = process
        self._cpu = cpu
        self._interrupted = False
        self._ended_early = False

    @property
    def pid(self) -> int:
        return self._process.pid

    def pin(self) -> None:
        """Pin every thread of wrk to its CPU (again: threads started since)."""
        if self._cpu is not None:
            with suppress(ProcessLookupError):  # wrk ended already: stop() says why
                pin(self._process.pid, self._cpu)

    def interrupt(self) -> None:
        """SIGINT, on which wrk stops sending and prints its summary (over the time it
        ran); once. A wrk that had already ended is noted: :meth:`stop` refuses its run."""
        if self._interrupted:
            return
        self._interrupted = True
        if self._process.poll() is not None:
            self._ended_early = True
            return
        # Before wrk installs its handler SIGINT is ignored, and the run would end at -d
        # instead: harmless, the window has passed.
        self._process.send_signal(signal.SIGINT)

    def stop(self) -> WrkRun:
        """Interrupt wrk (if not yet) and read its summary; :class:`WrkError` if it had
        ended before, or reported failed requests."""
        self.interrupt()
        process = self._process
        stdout, stderr = process.communicate(timeout=30)
        if self._ended_early:
            raise WrkError(f"wrk ended before it was stopped:\n{stdout}{stderr}")
        # A Lua error in the script is only a line on stderr: wrk goes on with plain requests.
        if process.returncode != 0 or stderr.strip():
            raise WrkError(f"wrk exited with status {process.returncode}:\n{stdout}{stderr}")
        return parse(stdout)


@contextmanager
def running(url: str, script: Path, seconds: float, cpu: int | None = None) -> Iterator[Load]:
    """wrk loading ``url`` for at most ``seconds`` (+ 1 or 2) until ``stop``; with ``cpu``,
    pinned to that CPU. Left without ``stop`` (an error meanwhile), wrk is killed."""
    process = subprocess.Popen(  # noqa: S603 - a fixed program, our own script
        command(url, script, seconds), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        load = Load(process, cpu)
        load.pin()
        yield load
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def run(url: str, script: Path, seconds: float, cpu: int | None = None) -> WrkRun:
    """``wrk -t1 -c16 -s SCRIPT URL`` for ``seconds``, then its summary."""
    with running(url, script, seconds, cpu) as load:
        time.sleep(seconds)
        return load.stop()
