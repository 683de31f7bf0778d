"""``python -m bench.profile ROW``: where a row's time goes, under cProfile (no goal).

The row's stack and shop run in this process: a scope per request as uvicorn builds
it, a ``receive`` and ``send`` that never wait, each request driven to its end by one
``send(None)`` on the coroutine, without an event loop. No server and no wrk, so the
figures are the Python code alone, slowed down by the profiler: read them as shares.
Credentials are obtained as in the benchmark, by POSTing to the stack in-process.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Coroutine, Sequence

from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Scope

from .cookies import CHECK_COUNTER, FIRST_COUNTER, RequestTemplate
from .lua import template_for
from .rows import ROWS_BY_KEY, Row
from .stacks import build
from .visitors import VISITORS, Visitor, obtain

HOST = ("127.0.0.1", 8000)


def scope_of(template: RequestTemplate, counter: int) -> Scope:
    """The scope uvicorn would build for this request: header names lower-cased bytes."""
    headers = [(b"host", f"{HOST[0]}:{HOST[1]}".encode())]
    headers += [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in template.all_headers(counter).items()
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": HOST,
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": headers,
        "state": {},
    }


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def call(app: ASGIApp, scope: Scope) -> int:
    """Run one request to its end without an event loop; return the response status."""
    status = 0

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    coroutine = app(scope, _receive, send)
    if not isinstance(coroutine, Coroutine):
        raise TypeError(f"{app!r} did not return a coroutine")
    try:
        coroutine.send(None)
    except StopIteration:
        return status
    coroutine.close()
    raise RuntimeError("the stack waited for something: it cannot run without an event loop")


def profile_row(
    row: Row, app: ASGIApp, visitors: Sequence[Visitor], requests: int
) -> tuple[pstats.Stats, float]:
    """The profile of ``requests`` requests of ``row``, and their mean time in seconds."""
    templates = row.templates(visitors)
    # Once per visitor first, unprofiled: caches filled as on a server that has been up.
    for offset in range(len(templates)):
        counter = CHECK_COUNTER - offset
        status = call(app, scope_of(template_for(templates, counter), counter))
        if status != 200:
            raise RuntimeError(f"{row.label}: status {status}")
    scopes = [
        scope_of(template_for(templates, counter), counter)
        for counter in range(FIRST_COUNTER + 1, FIRST_COUNTER + 1 + requests)
    ]
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for scope in scopes:
        call(app, scope)
    profiler.disable()
    mean = (time.perf_counter() - started) / requests
    return pstats.Stats(profiler, stream=sys.stdout), mean


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("row", choices=list(ROWS_BY_KEY))
    parser.add_argument("--requests", type=int, default=5000, help="requests profiled")
    parser.add_argument("--top", type=int, default=30, help="functions shown")
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    args = parser.parse_args(argv)
    row = ROWS_BY_KEY[args.row]
    with tempfile.TemporaryDirectory(prefix="consent-profile-") as tmp:
        # Only the credentials' POSTs write records; they go to a store of this run's own.
        os.environ["CONSENT_RECORDS_URL"] = f"sqlite:///{tmp}/records.db"
        app = build(row.stack)
        clients = {} if row.stack == "bare" else {row.stack: TestClient(app)}
        visitors = obtain(clients, VISITORS)
        stats, mean = profile_row(row, app, visitors, args.requests)
    print(
        f"{row.key}: {row.label} on {row.stack}; {args.requests} requests in process, "
        f"{mean * 1e6:.1f} µs each under the profiler"
    )
    stats.sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
