"""Run the goal scenario a fixed number of times, for counting instructions with callgrind.

Timings on a shared machine move by ±0.3 µs between runs; instruction counts do not.
To compare two versions of the hot path, count the instructions of the timed requests
only (the set-up is excluded by collecting inside ``itertools.starmap`` alone)::

    PYTHONHASHSEED=0 valgrind --tool=callgrind --collect-atstart=no \\
        --toggle-collect=starmap_next --callgrind-out-file=/tmp/cg.out \\
        .venv/bin/python -m bench.instructions --stack consent
    callgrind_annotate /tmp/cg.out | head -30

The "totals" line divided by ``visitors * rounds`` is the cost of one request; the same
with ``--stack bare`` is the app's share, so the difference is the middleware's. With
``--stack session`` (Starlette's ``SessionMiddleware`` on the same visitors) the goal
ratio can be read in instructions too, which do not depend on the machine's mood.
``--stack pass`` is a middleware that only wraps ``send``: the floor of any middleware.
With ``--no-cookies`` the requests carry only their credential and the responses set
no cookie: the share of a middleware that does not depend on the cookies.
"""

from __future__ import annotations

import argparse
import gc
import itertools
from collections.abc import Awaitable, Callable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .asgi import call
from .policies import example_policy, regional_policy, with_csp
from .scenario import (
    app,
    consent_credential,
    consent_stack,
    make_visitors,
    requests,
    session_credential,
    session_stack,
)


class PassThrough:
    """The least a pure ASGI middleware that sees response headers costs: a coroutine,
    a ``send`` wrapper and one look at the start message (the ``--stack pass`` floor)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        def send_wrapper(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers") or ())
            return send(message)

        await self.app(scope, receive, send_wrapper)


def run(stack: ASGIApp, scopes: Sequence[Scope]) -> None:
    for scope in scopes:
        call(stack, scope)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument(
        "--stack",
        choices=("consent", "regimes", "csp", "regimes-csp", "session", "pass", "bare"),
        default="consent",
    )
    parser.add_argument(
        "--no-cookies",
        action="store_true",
        help="requests carry only the credential and responses set no cookie",
    )
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)

    policy = example_policy()
    visitors = make_visitors(args.visitors, policy)
    builds: dict[str, Callable[[], ASGIApp]] = {  # only the chosen stack is built
        "consent": consent_stack(policy),
        "regimes": lambda: consent_stack(regional_policy())(),
        "csp": lambda: consent_stack(with_csp(policy))(),
        "regimes-csp": lambda: consent_stack(with_csp(regional_policy()))(),
        "session": session_stack,
        "pass": lambda: PassThrough(app),
        "bare": lambda: app,
    }
    stack = builds[args.stack]()
    credential = session_credential if args.stack == "session" else consent_credential
    cookies = not args.no_cookies
    batches = [
        requests(visitors, counter, credential, cookies=cookies) for counter in range(args.rounds)
    ]
    run(stack, requests(visitors, -1, credential, cookies=cookies))  # every token verified once
    gc.disable()
    # Only what runs inside starmap is counted (--toggle-collect=starmap_next).
    list(itertools.starmap(run, [(stack, batch) for batch in batches]))


if __name__ == "__main__":
    main()
