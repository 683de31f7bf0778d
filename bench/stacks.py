"""The stacks compared, each served by a uvicorn process of its own (bench/serve.py).

Every stack runs the same shop (bench/shop.py); only what wraps it differs.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp

from consent import ConsentMiddleware, Policy

from .policies import example_policy, large_policy, regimes_csp_policy
from .shop import create_app

SECRET_KEY = "bench-secret-key-0123456789abcdef"


def _bare() -> ASGIApp:
    return create_app()


def _session() -> ASGIApp:
    """A valid session that the page reads and leaves alone: Starlette 1.x only verifies it."""
    return SessionMiddleware(create_app(), secret_key=SECRET_KEY)


def _session_resign() -> ASGIApp:
    """The page writes to the session on every response: SessionMiddleware re-signs it.

    The reference of the goals (DESIGN.md: a valid session, re-signed per response).
    """
    return SessionMiddleware(create_app(write_session=True), secret_key=SECRET_KEY)


def _consent(policy: Callable[[], Policy]) -> Callable[[], ASGIApp]:
    return lambda: ConsentMiddleware(create_app(), policy=policy(), secret_keys=[SECRET_KEY])


STACKS: dict[str, Callable[[], ASGIApp]] = {
    "bare": _bare,
    "session": _session,
    "session-resign": _session_resign,
    "consent": _consent(example_policy),
    "consent-large": _consent(large_policy),
    "consent-regimes-csp": _consent(regimes_csp_policy),
}
SESSION_STACKS = ("session", "session-resign")
CONSENT_STACKS = ("consent", "consent-large", "consent-regimes-csp")


def build(stack: str) -> ASGIApp:
    return STACKS[stack]()
