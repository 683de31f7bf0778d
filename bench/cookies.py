"""The cookies visitors send, and the request templates the load generator fills in.

Every request changes one cookie value (a counter, as GA4's session cookie changes
on every page view), so that nothing keyed on a whole ``Cookie`` header can be cached
between requests: each is work the middleware has to do again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# Where the request counter goes in a template; never a byte of a real cookie.
COUNTER = "\x00"
# The first counter wrk uses is FIRST_COUNTER + 1; the 200 "known" names are the
# never-seen names of FIRST_COUNTER itself, so that both have the same shape and length.
# The output checks count down from below it, never reaching a counter wrk uses.
FIRST_COUNTER = 1_717_000_000
CHECK_COUNTER = FIRST_COUNTER - 1

REALISTIC = ("sid", "csrftoken", "_ga", "_ga_ABC123", "_fbp")
# Names a real site's visitors carry that examples/consent.yaml does not declare:
# Cloudflare's bot cookie, Microsoft Ads', Segment's.
UNDECLARED = ("__cf_bm", "_uetvid", "ajs_anonymous_id")
SET_BY_APP = ("sid", "_ga", "_fbp")
MANY = 200
COUNTRIES = ("FR", "DE", "US", "US-CA", "BR")
# What a browser sends besides cookies, on every request of every row.
BROWSER_HEADERS = (
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("Accept-Language", "en-GB,en;q=0.7,fr;q=0.3"),
    ("Accept-Encoding", "gzip, deflate, br, zstd"),
)


def fresh_names(counter: int, count: int) -> list[str]:
    """The names a never-seen-names request carries: new with every counter.

    bench/lua.py writes the same in Lua; tests/test_bench.py checks that both agree.
    """
    return [f"n{counter}_{i}" for i in range(1, count + 1)]


KNOWN_NAMES = tuple(fresh_names(FIRST_COUNTER, MANY))
# Every fixed name the benchmark sends: the large policy must classify them as the example does.
SENT_NAMES = REALISTIC + UNDECLARED + KNOWN_NAMES


@dataclass(frozen=True, slots=True)
class Jar:
    """A visitor's own cookies, as its browser holds them (the consent cookie aside)."""

    sid: str
    csrftoken: str
    ga: str
    fbp: str

    @classmethod
    def make(cls, index: int) -> Jar:
        rng = random.Random(index)  # the same visitors on every run
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        first_visit = 1_716_000_000 + rng.randrange(900_000)
        return cls(
            sid=f"{rng.getrandbits(128):032x}",
            csrftoken="".join(rng.choice(alphabet) for _ in range(32)),
            ga=f"GA1.1.{rng.randrange(10**9, 10**10)}.{first_visit}",
            fbp=f"fb.1.{first_visit}{rng.randrange(1000):03d}.{rng.randrange(10**9, 10**10)}",
        )

    def decided(self) -> list[str]:
        """A returning visitor's cookies; the GA4 session cookie carries the counter."""
        return [
            f"sid={self.sid}",
            f"csrftoken={self.csrftoken}",
            f"_ga={self.ga}",
            f"_ga_ABC123=GS1.1.{COUNTER}.1.1.1717000123.0.0.0",
            f"_fbp={self.fbp}",
        ]

    def undeclared(self) -> list[str]:
        """Cookies of services the site runs but its policy does not declare."""
        return [
            f"__cf_bm={self.sid[:22]}xQ-1717000200-1.0.1.1-{self.csrftoken}{self.sid}",
            f"_uetvid={self.sid}",
            f"ajs_anonymous_id={self.sid[:8]}-{self.sid[8:12]}-4{self.sid[13:16]}-"
            f"a{self.sid[17:20]}-{self.sid[20:]}",
        ]

    def undecided(self) -> list[str]:
        """A first visit, before any choice: only necessary cookies; the CSRF token
        (rotated per form, say) carries the counter."""
        return [f"sid={self.sid}", f"csrftoken={self.csrftoken[:22]}{COUNTER}"]


@dataclass(frozen=True, slots=True)
class RequestTemplate:
    """One visitor's request: its ``Cookie`` header around the counter, its other headers.

    ``fresh`` never-seen names are appended to the ``Cookie`` header, new for each counter.
    """

    cookie_head: str
    cookie_tail: str
    headers: tuple[tuple[str, str], ...]
    fresh: int = 0

    @classmethod
    def of(
        cls, pieces: list[str], headers: tuple[tuple[str, str], ...], fresh: int = 0
    ) -> RequestTemplate:
        cookie = "; ".join(pieces)
        if cookie.count(COUNTER) != 1:
            raise ValueError(f"a request template needs exactly one counter: {cookie!r}")
        head, tail = cookie.split(COUNTER)
        return cls(head, tail, headers, fresh)

    def cookie(self, counter: int) -> str:
        names = "".join(f"; {name}=1" for name in fresh_names(counter, self.fresh))
        return f"{self.cookie_head}{counter}{self.cookie_tail}{names}"

    def all_headers(self, counter: int) -> dict[str, str]:
        return {**dict(BROWSER_HEADERS), **dict(self.headers), "Cookie": self.cookie(counter)}
