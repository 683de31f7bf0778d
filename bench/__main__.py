"""``python -m bench [--check]``: serve every stack, check every row, time the groups of
rows together, print the report.

With ``--check`` the exit status is 1 when a goal is missed; without it, 0 once the
report is printed. A stack that fails its output check, a server that does not start,
a wrk run with failed requests or a window without pages stops the benchmark (status 2)
before any report.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import httpx2

from . import lua, wrk
from .checks import CheckFailed, check_row, check_undeclared
from .environment import Environment
from .figures import Figures
from .goals import GOALS, INFORMATION, check_ratios, missed
from .groups import GROUPS, check
from .measure import MeasureError, run_rounds
from .pinning import Pinning, available
from .policies import example_policy
from .report import RunSettings, render
from .rows import ROWS, ROWS_BY_KEY, SERVERS
from .servers import ServerError, serving
from .visitors import VISITORS, obtain

ROUNDS, SECONDS, WARMUP = 9, 1.5, 0.4
QUICK_ROUNDS, QUICK_SECONDS = 1, 0.3  # a smoke run: every check, figures not to be quoted


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"default {ROUNDS}")
    parser.add_argument(
        "--duration",
        type=float,
        default=SECONDS,
        help=f"seconds of the timed window per group and round ({SECONDS})",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=WARMUP,
        help=f"seconds of load before each window ({WARMUP})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_ROUNDS} round of {QUICK_SECONDS} s: a smoke run",
    )
    parser.add_argument("--visitors", type=int, default=VISITORS, help=f"default {VISITORS}")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.duration = QUICK_ROUNDS, QUICK_SECONDS
    if args.rounds < 1 or args.duration <= 0 or args.visitors < 1:
        parser.error("--rounds, --duration and --visitors must be positive")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    started = time.monotonic()

    def progress(text: str) -> None:
        if not args.quiet:
            print(f"  [{time.monotonic() - started:5.1f} s] {text}", file=sys.stderr, flush=True)

    if not Path(wrk.WRK).exists():
        print(f"bench: {wrk.WRK} is missing; `make bench` installs it (apt)", file=sys.stderr)
        return 2
    check(GROUPS)
    check_ratios([*GOALS, *INFORMATION], GROUPS)
    pinning = Pinning.choose(available())
    try:
        with tempfile.TemporaryDirectory(prefix="consent-bench-") as tmp, ExitStack() as resources:
            workdir = Path(tmp)
            progress(f"starting {len(SERVERS)} servers; {Pinning.describe(pinning)}")
            server_cpu = None if pinning is None else pinning.server
            servers = resources.enter_context(serving(SERVERS, workdir, server_cpu))
            progress(f"obtaining credentials for {args.visitors} visitors")
            # From the first server of each stack; a second one verifies the same tokens.
            clients = {
                name: resources.enter_context(httpx2.Client(base_url=server.origin, timeout=10.0))
                for name, server in servers.items()
                if name == server.stack and name != "bare"
            }
            visitors = obtain(clients, args.visitors)
            templates = {row.key: row.templates(visitors) for row in ROWS}
            progress("checking every row's output")
            check_undeclared(example_policy())
            scripts = {}
            for row in ROWS:
                check_row(row, templates[row.key], servers[row.server])
                scripts[row.key] = workdir / f"{row.key}.lua"
                scripts[row.key].write_text(lua.script(row.label, templates[row.key]))
            samples = run_rounds(
                GROUPS, ROWS_BY_KEY, servers, scripts, rounds=args.rounds, warmup=args.warmup,
                window=args.duration, wrk_cpu=None if pinning is None else pinning.wrk,
                progress=progress,
            )  # fmt: skip
            environment = Environment.of(next(iter(servers.values())))
    except (CheckFailed, ServerError, wrk.WrkError, MeasureError) as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 2
    progress("done")
    figures = Figures.of(GROUPS, samples)
    settings = RunSettings(
        args.rounds, args.duration, args.warmup, args.visitors, wrk.THREADS, wrk.CONNECTIONS,
        pinning,
    )  # fmt: skip
    print(render(figures, settings, environment.describe()))
    return 1 if args.check and missed(figures) else 0


if __name__ == "__main__":
    sys.exit(main())
