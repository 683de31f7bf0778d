"""Visitors, their requests, the app, and the middleware stacks being compared.

1,000 visitors take turns. Each has made one of four choices, carries the cookies
that choice allows (with values that change on every request) plus its own signed
credential: a consent cookie for ``ConsentMiddleware``, a session cookie for
``SessionMiddleware``. The app answers every request with ten ``Set-Cookie``s whose
values change per request: granted, non-granted and undeclared names mixed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consent import ConsentMiddleware, Policy

from .asgi import Recorder, call
from .policies import with_banner, with_csp

KEY = "bench-secret-key-0123456789abcdef"
RESPONSE_KEY = "bench.response_headers"  # where a request's prepared answer waits for the app
BODY = b"<!doctype html><title>shop</title><p>Hello</p>"

# What each visitor sends to the consent endpoint, in turn.
CHOICES: tuple[dict[str, object], ...] = (
    {"action": "accept_all"},
    {"action": "reject_all"},
    {"granted": ["analytics"]},
    {"granted": ["functional", "performance"]},
)
# The cookies a visitor holds for each category it granted (names from examples/consent.yaml).
JAR: dict[str, tuple[str, ...]] = {
    "necessary": ("sid", "csrftoken"),
    "functional": ("lang",),
    "analytics": ("_ga", "_ga_ABC123", "_pk_id.1.a1b2", "_pk_ses.1.a1b2"),
    "performance": ("_hjSessionUser_123", "_hjSession_123"),
    "advertisement": ("_fbp", "IDE"),
}
# The ten cookies every response sets; "ab_test" is declared nowhere.
RESPONSE_COOKIES = (
    "sid", "csrftoken", "lang", "_ga", "_ga_ABC123",
    "_pk_id.1.a1b2", "_hjSession_123", "_fbp", "IDE", "ab_test",
)  # fmt: skip
# The country each visitor's requests carry (CF-IPCountry); only the regimes stacks read it.
COUNTRIES = (b"FR", b"DE", b"US", b"US-CA", b"BR")
ALL_NAMES = sorted({n for names in JAR.values() for n in names} | set(RESPONSE_COOKIES))


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The app behind every stack: send the prepared headers and a small body."""
    await send({"type": "http.response.start", "status": 200, "headers": scope[RESPONSE_KEY]})
    await send({"type": "http.response.body", "body": BODY})


@dataclass(frozen=True, slots=True)
class Visitor:
    index: int
    jar: tuple[str, ...]
    consent: bytes  # "consent=<token>" as the browser sends it back
    session: bytes  # "session=<signed data>"
    # The same choice made on the large site: the token's taxonomy covers the declared
    # cookies (issue 5), so a token of the example policy reads as undecided there.
    consent_large: bytes = b""


def _cookie_pair(set_cookie: bytes) -> bytes:
    """``name=value`` of a ``Set-Cookie``, as a browser sends it back."""
    return set_cookie.split(b";", 1)[0]


def _post_choice(middleware: ASGIApp, choice: dict[str, object]) -> bytes:
    """Obtain a real consent cookie the way a browser does: POST to the endpoint."""
    body = json.dumps(choice).encode()
    recorder = Recorder()
    scope: Scope = {
        **_scope([], []),
        "method": "POST",
        "path": "/consent",
        "raw_path": b"/consent",
        "headers": [(b"content-type", b"application/json"), (b"host", b"shop.example")],
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    call(middleware, scope, recorder, receive)
    for key, value in recorder.headers():
        if key == b"set-cookie" and value.startswith(b"consent="):
            return _cookie_pair(value)
    raise RuntimeError(f"the consent endpoint did not answer {choice} with a consent cookie")


def _session_cookie(index: int) -> bytes:
    """A real session cookie, written by ``SessionMiddleware`` itself."""

    async def login(scope: Scope, receive: Receive, send: Send) -> None:
        scope["session"].update({"user": index, "cart": [index % 7, 3], "lang": "en"})
        await app(scope, receive, send)

    recorder = Recorder()
    call(SessionMiddleware(login, secret_key=KEY), _scope([], []), recorder)
    for key, value in recorder.headers():
        if key == b"set-cookie" and value.startswith(b"session="):
            return _cookie_pair(value)
    raise RuntimeError("SessionMiddleware wrote no session cookie")


def make_visitors(count: int, policy: Policy, large: Policy | None = None) -> list[Visitor]:
    endpoint = ConsentMiddleware(app, policy=policy, secret_keys=[KEY])
    large_endpoint = ConsentMiddleware(app, policy=large or policy, secret_keys=[KEY])
    visitors = []
    for index in range(count):
        choice = CHOICES[index % len(CHOICES)]
        # Each POST without a consent cookie starts a new consent id: one token per visitor.
        token = _post_choice(endpoint, choice)
        token_large = _post_choice(large_endpoint, choice)
        jar = tuple(name for category in _granted(choice, policy) for name in JAR[category])
        visitors.append(Visitor(index, jar, token, _session_cookie(index), token_large))
    return visitors


def _granted(choice: dict[str, object], policy: Policy) -> list[str]:
    if choice.get("action") == "accept_all":
        return list(policy.category_names)
    extra = choice.get("granted")
    return [*policy.required, *(extra if isinstance(extra, list) else [])]


def _scope(headers: list[tuple[bytes, bytes]], response: list[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("shop.example", 80),
        RESPONSE_KEY: response,
    }


Credential = Callable[[Visitor], bytes | None]


def consent_credential(visitor: Visitor) -> bytes | None:
    return visitor.consent


def large_credential(visitor: Visitor) -> bytes | None:
    return visitor.consent_large


def session_credential(visitor: Visitor) -> bytes | None:
    return visitor.session


def no_credential(visitor: Visitor) -> bytes | None:
    return None


def requests(
    visitors: Sequence[Visitor], counter: int, credential: Credential, *, cookies: bool = True
) -> list[Scope]:
    """One fresh request per visitor; every cookie value depends on ``counter``.

    Without ``cookies`` a request carries its credential alone and the response sets no
    cookie: what a middleware costs whatever the cookies (bench/instructions.py).
    """
    scopes = []
    set_cookies = RESPONSE_COOKIES if cookies else ()
    for visitor in visitors:
        tag = f"{visitor.index}.{counter}"
        pairs = [f"{name}=v{tag}".encode() for name in (visitor.jar if cookies else ())]
        own = credential(visitor)
        if own is not None:
            pairs.insert(2, own)  # after the necessary cookies, as a browser would order them
        headers = [
            (b"host", b"shop.example"),
            (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) bench"),
            (b"accept", b"text/html,application/xhtml+xml"),
            (b"cookie", b"; ".join(pairs)),
            (b"cf-ipcountry", COUNTRIES[visitor.index % len(COUNTRIES)]),
        ]
        response = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(BODY)).encode()),
            *(
                (
                    b"set-cookie",
                    f"{name}=r{tag}; Path=/; Max-Age=31536000; SameSite=Lax".encode(),
                )
                for name in set_cookies
            ),
        ]
        scopes.append(_scope(headers, response))
    return scopes


@dataclass(frozen=True, slots=True)
class Variant:
    """One stack to time. ``build`` runs before every timed batch when ``fresh`` is set."""

    key: str
    label: str
    build: Callable[[], ASGIApp]
    credential: Credential
    fresh: bool = False
    informational: bool = False


def consent_stack(policy: Policy) -> Callable[[], ASGIApp]:
    return lambda: ConsentMiddleware(app, policy=policy, secret_keys=[KEY])


def session_stack() -> ASGIApp:
    return SessionMiddleware(app, secret_key=KEY)


def variants(example: Policy, large: Policy, regional: Policy) -> list[Variant]:
    return [
        Variant("bare", "app alone", lambda: app, consent_credential),
        Variant("consent", "ConsentMiddleware, example policy", consent_stack(example),
                consent_credential),
        Variant("session", "SessionMiddleware (Starlette)", session_stack, session_credential),
        Variant("large", f"ConsentMiddleware, {len(large.declarations):,} declared cookies",
                consent_stack(large), large_credential),
        Variant("regimes", "ConsentMiddleware, regimes by CF-IPCountry",
                consent_stack(regional), consent_credential, informational=True),
        Variant("undecided", "ConsentMiddleware, undecided visitor", consent_stack(example),
                no_credential, informational=True),
        Variant("first", "ConsentMiddleware, first request of a visitor",
                consent_stack(example), consent_credential, fresh=True, informational=True),
        Variant("csp", "ConsentMiddleware + Content-Security-Policy",
                consent_stack(with_csp(example)),
                consent_credential, informational=True),
        # Issue 5's goal: the first ratio with regimes and the CSP on together.
        Variant("regimes-csp", "ConsentMiddleware, regimes + CSP",
                consent_stack(with_csp(regional)), consent_credential),
        Variant("banner", "ConsentMiddleware + banner injected into the page",
                consent_stack(with_banner(example)), consent_credential, informational=True),
        Variant("banner-large", f"ConsentMiddleware + banner, {len(large.declarations):,} cookies",
                consent_stack(with_banner(large)), large_credential, informational=True),
    ]  # fmt: skip


def check(variant: Variant, visitors: Sequence[Visitor], policy: Policy) -> None:
    """Refuse to time a stack that does not do its job on these visitors."""
    stack = variant.build()
    for visitor, scope in zip(visitors, requests(visitors, -1, variant.credential), strict=True):
        recorder = Recorder()
        call(stack, scope, recorder)
        sent = sorted(recorder.set_cookie_names())
        if variant.key == "bare":
            expected = sorted(RESPONSE_COOKIES)
        elif variant.key == "session":
            expected = sorted(RESPONSE_COOKIES)
            if scope["session"].get("user") != visitor.index:
                raise RuntimeError(f"SessionMiddleware did not load visitor {visitor.index}")
        else:
            state = scope["state"]["consent"]
            decided = variant.credential(visitor) is not None
            if state.decided != decided:
                raise RuntimeError(f"{variant.label}: visitor {visitor.index} read as {state}")
            granted = state.granted
            expected = [n for n in RESPONSE_COOKIES if policy.category_of(n) in granted]
            expected += [n for n in visitor.jar if policy.category_of(n) not in granted]
            expected.sort()
        if sent != expected:
            raise RuntimeError(
                f"{variant.label}: visitor {visitor.index} got {sent}, not {expected}"
            )
