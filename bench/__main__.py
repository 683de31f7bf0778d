"""``python -m bench [--check]``: print the report; with ``--check``, exit 1 on a missed goal."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .measure import measure
from .policies import LARGE_SIZE
from .report import goals, render


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--visitors", type=int, default=1000, help="visitors taking turns")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="time limit")
    parser.add_argument("--min-rounds", type=int, default=30, help="rounds before stopping")
    parser.add_argument("--max-rounds", type=int, default=200, help="rounds at most")
    parser.add_argument(
        "--large-size", type=int, default=LARGE_SIZE, help="declared cookies in the large policy"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)

    def progress(text: str) -> None:
        if not args.quiet:
            print(f"  {text}", file=sys.stderr, flush=True)

    result = measure(
        visitors=args.visitors,
        large_size=args.large_size,
        min_rounds=args.min_rounds,
        max_rounds=args.max_rounds,
        max_seconds=args.max_seconds,
        progress=progress,
    )
    print(render(result))
    missed = [goal for goal in goals(result) if not goal.passed]
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
