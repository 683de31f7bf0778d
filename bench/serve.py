"""``python -m bench.serve STACK --port N``: serve one stack as production would.

One uvicorn process, no reloader and no workers, so that the process the benchmark
started is the one that serves and whose CPU time it reads. uvicorn picks its HTTP
parser and event loop as it does by default: httptools and uvloop when installed
(``uvicorn[standard]``), as production runs it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from .stacks import STACKS, build


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__)
    parser.add_argument("stack", choices=sorted(STACKS))
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = build(args.stack)
    uvicorn.run(app, host="127.0.0.1", port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
