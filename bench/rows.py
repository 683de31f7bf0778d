"""The timed rows: which stack, which requests, what its output must show, its baseline.

A row's overhead is its CPU per page minus that of the bare app receiving the same
request without the credential (a ``bare-*`` row), measured in the same window: the rows
compared are timed together (bench/groups.py). Each goal's reference is the re-signing
session given the goal's own request plus its session cookie (``session-resign``,
``session-resign-b``, ``session-resign-c``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from .cookies import KNOWN_NAMES, MANY, UNDECLARED, RequestTemplate
from .visitors import Visitor


class Expect(Enum):
    """What a row's responses must show before it is timed (bench/checks.py)."""

    BARE = "the app's three cookies, no banner"
    SESSION_READ = "the session loaded, not re-signed"
    SESSION_RESIGNED = "the session loaded and re-signed"
    DECIDED = "the app's three cookies pass, the settings control but no banner"
    UNDECIDED = "the banner rendered, only sid set"


Pieces = Callable[[Visitor, str], list[str]]  # a visitor's Cookie header pieces on a stack


def _decided(visitor: Visitor, stack: str) -> list[str]:
    return [*visitor.jar.decided(), visitor.credential(stack)]


def _decided_undeclared(visitor: Visitor, stack: str) -> list[str]:
    return [*visitor.jar.decided(), *visitor.jar.undeclared(), visitor.credential(stack)]


def _decided_known(visitor: Visitor, stack: str) -> list[str]:
    return [*_decided(visitor, stack), *(f"{name}=1" for name in KNOWN_NAMES)]


def _bare_decided(visitor: Visitor, stack: str) -> list[str]:
    return visitor.jar.decided()


def _bare_undeclared(visitor: Visitor, stack: str) -> list[str]:
    return [*visitor.jar.decided(), *visitor.jar.undeclared()]


def _undecided(visitor: Visitor, stack: str) -> list[str]:
    return visitor.jar.undecided()


def _undecided_credential(visitor: Visitor, stack: str) -> list[str]:
    """(c)'s cookies and a session: the reference given (c)'s request."""
    return [*visitor.jar.undecided(), visitor.credential(stack)]


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    label: str
    stack: str
    expect: Expect
    pieces: Pieces
    baseline: str | None = None  # the bare row of the same request, for the overhead
    fresh: int = 0  # never-seen cookie names added to each request
    hidden: tuple[str, ...] = ()  # request cookie names the app must never receive
    csp: bool = False  # responses carry a Content-Security-Policy
    # Which server of the stack: two rows of one stack timed together need two processes.
    instance: int = 1

    @property
    def server(self) -> str:
        """The name of the server the row loads: the stack's, or ``STACK-N`` for the Nth."""
        return self.stack if self.instance == 1 else f"{self.stack}-{self.instance}"

    def templates(self, visitors: Sequence[Visitor]) -> tuple[RequestTemplate, ...]:
        """One request per visitor; each says where it is (CF-IPCountry), as behind a CDN."""
        return tuple(
            RequestTemplate.of(
                self.pieces(visitor, self.stack), (("CF-IPCountry", visitor.country),), self.fresh
            )
            for visitor in visitors
        )


ROWS = (
    Row("bare-a", "app alone, (a)'s request", "bare", Expect.BARE, _bare_decided),
    Row("session-resign", "SessionMiddleware, re-signed per response (reference)",
        "session-resign", Expect.SESSION_RESIGNED, _decided, baseline="bare-a"),
    Row("session", "SessionMiddleware, session only read", "session", Expect.SESSION_READ,
        _decided, baseline="bare-a"),
    Row("a", "(a) decided visitor", "consent", Expect.DECIDED, _decided, baseline="bare-a"),
    Row("large", "(a) with 5,000 declared cookies", "consent-large", Expect.DECIDED, _decided,
        baseline="bare-a"),
    Row("regimes-csp", "(a) with regimes + CSP", "consent-regimes-csp", Expect.DECIDED,
        _decided, baseline="bare-a", csp=True),
    Row("bare-b", "app alone, (b)'s request", "bare", Expect.BARE, _bare_undeclared),
    Row("session-resign-b", "SessionMiddleware re-signed, (b)'s request (reference)",
        "session-resign", Expect.SESSION_RESIGNED, _decided_undeclared, baseline="bare-b"),
    Row("b", "(b) decided + 3 undeclared cookies", "consent", Expect.DECIDED,
        _decided_undeclared, baseline="bare-b", hidden=UNDECLARED),
    Row("bare-c", "app alone, (c)'s request", "bare", Expect.BARE, _undecided),
    Row("session-resign-c", "SessionMiddleware re-signed, (c)'s request (reference)",
        "session-resign", Expect.SESSION_RESIGNED, _undecided_credential, baseline="bare-c"),
    Row("c", "(c) undecided, banner rendered", "consent", Expect.UNDECIDED, _undecided,
        baseline="bare-c"),
    Row("known-200", f"(a) + {MANY} known undeclared names", "consent", Expect.DECIDED,
        _decided_known, hidden=KNOWN_NAMES),
    # A second consent server: both 200-name rows are timed together.
    Row("unseen-200", f"(a) + {MANY} never-seen names", "consent", Expect.DECIDED, _decided,
        fresh=MANY, instance=2),
)  # fmt: skip
ROWS_BY_KEY = {row.key: row for row in ROWS}
# Every server the rows load, by name: what it serves.
SERVERS = {row.server: row.stack for row in ROWS}
