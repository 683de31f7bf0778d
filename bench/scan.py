"""``python -m bench.scan``: time ``consent scan`` of the example shop against its goal.

The example shop (``examples/starlette_app.py``: a home page, 40 product pages, a
sitemap) is served by uvicorn in a process of its own on a loopback port, and ``consent
scan`` runs in another, as a site's CI would run it, with ``--max-pages 30``: three
phases of 30 pages each, in one Chromium. The figure is the scan's wall time, from
starting the command to its exit, Chromium's start included.

Exit status: 0 when the scan took at most 60 s, 1 when it took longer, 2 when nothing
was measured (the shop did not start, the scan could not run or read fewer pages than
asked). Not a test: the time depends on the machine.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from consent.discovery.findings import PHASE_WORDS

from .servers import ServerError, free_port, stop, wait_until_answering

ROOT = Path(__file__).resolve().parent.parent
GOAL_S = 60.0
MAX_PAGES = 30
START_TIMEOUT_S = 30.0
# A scan this much slower than its goal is stuck, not slow.
SCAN_TIMEOUT_S = 10 * GOAL_S
# What `consent scan` prints on standard error when a phase is over (not on a terminal).
_PHASE_LINE = re.compile(r"^(?P<phase>.+): (?P<pages>\d+) pages? read$")


class NothingMeasured(RuntimeError):
    """The scan was not timed; the message says why."""


@contextmanager
def serve_shop(workdir: Path) -> Iterator[str]:
    """The example shop under uvicorn, in a process of its own; yield its origin."""
    port = free_port()
    env = {
        **os.environ,
        "CONSENT_SECRET_KEYS": secrets.token_urlsafe(32),
        # The consents the scan gives are recorded here, not in the working directory.
        "CONSENT_RECORDS_URL": f"sqlite:///{workdir / 'records.db'}",
    }
    log = workdir / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and example
            [
                sys.executable,
                "-m",
                "uvicorn",
                "examples.starlette_app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    origin = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering("shop", process, origin, "/health", log, START_TIMEOUT_S)
        yield origin
    except ServerError as error:
        raise NothingMeasured(str(error)) from None
    finally:
        stop(process)


def pages_per_phase(progress: str) -> dict[str, int]:
    """``{"before any choice": 30, ...}`` from the scan's progress lines."""
    words = set(PHASE_WORDS.values())
    pages = {}
    for line in progress.splitlines():
        match = _PHASE_LINE.match(line.strip())
        if match and match["phase"] in words:
            pages[match["phase"]] = int(match["pages"])
    return pages


def time_scan(origin: str, workdir: Path, max_pages: int, browser: str | None) -> float:
    """Run ``consent scan`` on ``origin``; print what it read; its wall time in seconds."""
    command = [
        sys.executable,
        "-m",
        "consent.cli",
        "scan",
        origin + "/",
        "--config",
        str(ROOT / "examples" / "consent.yaml"),
        "--max-pages",
        str(max_pages),
        "--out",
        str(workdir / "consent-scan"),
        *(["--browser", browser] if browser else []),
    ]
    started = time.monotonic()
    try:
        scan = subprocess.run(  # noqa: S603 - our own interpreter and command
            command, cwd=workdir, capture_output=True, text=True, timeout=SCAN_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise NothingMeasured(f"the scan did not end in {SCAN_TIMEOUT_S:.0f} s") from None
    seconds = time.monotonic() - started
    if scan.returncode not in (0, 1):  # 1: it found something, and still read the pages
        raise NothingMeasured(
            f"consent scan exited {scan.returncode}:\n{scan.stderr.strip()}"
            f"\n{scan.stdout.strip()}".rstrip()
        )
    pages = pages_per_phase(scan.stderr)
    for phase in PHASE_WORDS.values():
        print(f"  {phase}: {pages.get(phase, 0)} pages read")
    # The summary, but not where the reports were: a folder removed on exit.
    summary = [line for line in scan.stdout.splitlines() if not line.startswith("Reports:")]
    print("\n".join("  " + line for line in summary))
    short = [phase for phase in PHASE_WORDS.values() if pages.get(phase, 0) < max_pages]
    if short:
        raise NothingMeasured(f"fewer than {max_pages} pages read {' and '.join(short)}")
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scan",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--max-pages", type=int, default=MAX_PAGES, help=f"pages per phase ({MAX_PAGES})"
    )
    parser.add_argument("--browser", help="the Chromium to drive (default: as consent scan finds)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="consent-bench-scan-") as directory:
        workdir = Path(directory)
        try:
            with serve_shop(workdir) as origin:
                print(f"consent scan {origin}/ --max-pages {args.max_pages} (the example shop)")
                seconds = time_scan(origin, workdir, args.max_pages, args.browser)
        except NothingMeasured as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    met = seconds <= GOAL_S
    verdict = "met" if met else "MISSED"
    print(
        f"wall time {seconds:.1f} s for {args.max_pages} pages (goal ≤ {GOAL_S:.0f} s): {verdict}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
