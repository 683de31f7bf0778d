"""Run wrk for a given time and read what it reports.

wrk takes whole seconds only (``-d1s``), so it is started with a longer duration and
stopped with SIGINT, on which it stops sending and prints its summary as usual (over
the time it actually ran). A run with any error is refused: a failed request is not
a request the server served.
"""

from __future__ import annotations

import math
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

WRK = "/usr/bin/wrk"
THREADS = 1
CONNECTIONS = 4

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


def run(url: str, script: Path, seconds: float) -> WrkRun:
    """``wrk -t1 -c4 -s SCRIPT URL`` for ``seconds``."""
    # The -d is only a backstop: SIGINT ends the run (before wrk installs its handler
    # SIGINT is ignored, and the run would end at -d instead, which is harmless).
    command = [
        WRK, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{math.ceil(seconds) + 1}s",
        "-s", str(script), url,
    ]  # fmt: skip
    process = subprocess.Popen(  # noqa: S603 - a fixed program, our own script
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(seconds)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=seconds + 30)
    # A Lua error in the script is only a line on stderr: wrk goes on with plain requests.
    if process.returncode != 0 or stderr.strip():
        raise WrkError(f"wrk exited with status {process.returncode}:\n{stdout}{stderr}")
    return parse(stdout)
