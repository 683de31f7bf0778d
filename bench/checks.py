"""Check each row's output over HTTP before anything is timed.

Every visitor's request is sent once with the row's headers, as wrk will send it: a
stack that does not do its job (a visitor read as undecided, a cookie that should have
been stripped, a session not loaded) stops the benchmark with the reason, never timed.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx2

from consent import Policy

from .cookies import (
    CHECK_COUNTER,
    KNOWN_NAMES,
    MANY,
    REALISTIC,
    SET_BY_APP,
    UNDECLARED,
    RequestTemplate,
    fresh_names,
)
from .lua import template_for
from .rows import Expect, Row
from .servers import Server
from .shop import greeting

BANNER = 'id="consent-banner"'
SETTINGS = 'id="consent-settings"'


class CheckFailed(RuntimeError):
    """A stack's output is wrong: its figures would mean nothing."""


def check_undeclared(policy: Policy) -> None:
    """The names meant as undeclared must be undeclared in the example policy."""
    names = (*UNDECLARED, *KNOWN_NAMES, *fresh_names(CHECK_COUNTER, MANY))
    declared = [name for name in names if policy.category_of(name) is not None]
    if declared:
        raise CheckFailed(f"the example policy declares names sent as undeclared: {declared}")


def _set_cookie_names(response: httpx2.Response) -> set[str]:
    return {header.split("=", 1)[0].strip() for header in response.headers.get_list("set-cookie")}


def _sent_names(template: RequestTemplate, counter: int) -> set[str]:
    cookie = template.cookie(counter)
    return {piece.split("=", 1)[0] for piece in cookie.split("; ")}


def check_response(row: Row, response: httpx2.Response, visitor: int) -> None:
    """The page, as :class:`~bench.rows.Expect` says it must be for the row."""

    def fail(problem: str) -> CheckFailed:
        return CheckFailed(f"{row.label} ({row.stack}), visitor {visitor}: {problem}")

    if response.status_code != 200:
        raise fail(f"status {response.status_code}")
    length = response.headers.get("content-length")
    if length != str(len(response.content)):
        raise fail(f"Content-Length {length} for a body of {len(response.content)} bytes")
    page = response.text
    set_names = _set_cookie_names(response) - {"consent"}
    expected = set(SET_BY_APP)
    if row.expect is Expect.UNDECIDED:
        expected = {"sid"}
    elif row.expect is Expect.SESSION_RESIGNED:
        expected.add("session")
    if set_names != expected:
        raise fail(f"Set-Cookie for {sorted(set_names)}, expected {sorted(expected)}")

    session = row.expect in (Expect.SESSION_READ, Expect.SESSION_RESIGNED)
    if session and greeting(visitor) not in page:
        raise fail("the page does not show the visitor's session")
    if (session or row.expect is Expect.BARE) and (BANNER in page or SETTINGS in page):
        raise fail("a banner in a page no consent middleware served")
    if row.expect is Expect.DECIDED:
        if SETTINGS not in page or BANNER in page:
            raise fail("a decided visitor's page must hold the settings control, no banner")
        vary = response.headers.get("vary", "").lower()
        if "cookie" not in (part.strip() for part in vary.split(",")):
            raise fail(f"Vary does not name Cookie: {vary!r}")
    if row.expect is Expect.UNDECIDED and BANNER not in page:
        raise fail("an undecided visitor's page has no banner")
    if row.csp and "content-security-policy" not in response.headers:
        raise fail("no Content-Security-Policy header")


def check_received(
    row: Row, received: set[str], sent: set[str], hidden: set[str], visitor: int
) -> None:
    """What ``/cookies`` says the app received of the ``sent`` names; none of ``hidden``."""

    def fail(problem: str) -> CheckFailed:
        return CheckFailed(f"{row.label} ({row.stack}), visitor {visitor}: {problem}")

    if row.expect is Expect.BARE:
        if received != sent:
            raise fail(f"the app received {sorted(received)}, not what was sent")
        return
    if row.expect is Expect.DECIDED and not set(REALISTIC) <= received:
        raise fail(f"the app did not receive all of {REALISTIC}: {sorted(received)}")
    if row.expect is Expect.UNDECIDED and not {"sid", "csrftoken"} <= received:
        raise fail(f"the app did not receive sid and csrftoken: {sorted(received)}")
    leaked = received & hidden
    if leaked:
        raise fail(f"the app received undeclared cookies: {sorted(leaked)[:5]}")


def check_row(row: Row, templates: Sequence[RequestTemplate], server: Server) -> None:
    """One request per visitor to ``/`` and one to ``/cookies``, with the row's headers."""
    with httpx2.Client(base_url=server.origin, timeout=10.0) as client:
        for offset in range(len(templates)):
            counter = CHECK_COUNTER - offset
            template = template_for(templates, counter)
            visitor = counter % len(templates)
            headers = template.all_headers(counter)
            check_response(row, client.get("/", headers=headers), visitor)
            client.cookies.clear()
            received = set(client.get("/cookies", headers=headers).raise_for_status().json())
            client.cookies.clear()
            hidden = {*row.hidden, *fresh_names(counter, row.fresh)}
            check_received(row, received, _sent_names(template, counter), hidden, visitor)
