"""Property (a): whatever the app sends, only cookies the visitor consented to leave."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette.types import ASGIApp, Receive, Scope, Send

from consent import ConsentMiddleware, Policy, load_policy, policy_from_string
from tests.conftest import EXAMPLE_POLICY, KEY, call, call_sync, http_scope, response_headers

# Only Set-Cookie filtering is under test here: the banner (which rewrites HTML bodies
# and adds Vary: Accept-Language) has its own tests.
_EXAMPLE = load_policy(EXAMPLE_POLICY)
POLICY = Policy(
    _EXAMPLE.config.model_copy(
        update={"banner": _EXAMPLE.config.banner.model_copy(update={"inject": False})}
    )
)
OPTIONAL = [name for name in POLICY.category_names if name not in POLICY.required]
OWN_NAMES = {"consent", "__Host-consent"}

Header = tuple[bytes, bytes]


class _App:
    """Answers with whatever headers the current example put in ``headers``."""

    def __init__(self) -> None:
        self.headers: list[Header] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        await send({"type": "http.response.body", "body": b""})


APP = _App()
MIDDLEWARE: ASGIApp = ConsentMiddleware(APP, policy=POLICY, secret_keys=KEY)


@cache
def consent_cookie(granted: frozenset[str]) -> bytes:
    """A real consent cookie for ``granted``, from a POST to the endpoint."""
    scope = http_scope("/consent", method="POST", headers=[(b"content-type", b"application/json")])
    body = json.dumps({"granted": sorted(granted)}).encode()
    sent = call(MIDDLEWARE, scope, [{"type": "http.request", "body": body}])
    assert sent[0]["status"] == 200
    cookies = [v for k, v in response_headers(sent) if k == b"set-cookie"]
    return cookies[0].split(b";")[0]


def cookie_name(set_cookie: bytes) -> str:
    """Rule 2, written out independently: before the first ``;``, then before ``=``."""
    pair = set_cookie.split(b";")[0]
    if b"=" not in pair:
        return ""  # a nameless cookie
    return pair.split(b"=")[0].strip().decode("latin-1")


def may_leave(set_cookie: bytes, granted: frozenset[str], policy: Policy) -> bool:
    name = cookie_name(set_cookie)
    if name in OWN_NAMES:
        return True
    category = policy.category_of(name)
    return category is not None and (category in granted or category in policy.required)


_text = st.text(alphabet=st.characters(codec="latin-1", exclude_characters=";"), max_size=12).map(
    lambda s: s.encode("latin-1")
)
_declared = st.sampled_from(
    [cookie.name.encode() for _, cookie in POLICY.declarations if "*" not in cookie.name]
    + [b"consent", b"__Host-consent"]
)
_globbed = st.builds(
    bytes.__add__, st.sampled_from([b"_ga_", b"_pk_id.", b"_pk_ses.", b"_hj"]), _text
)
_undeclared = st.one_of(_text, st.sampled_from([b"tracker", b"_gid", b"IDE2", b"Sid", b"_g"]))
_name = st.one_of(_declared, _globbed, _undeclared)
_padding = st.sampled_from([b"", b" ", b"\t", b"  "])
_attributes = st.sampled_from([b"", b"; Path=/", b"; Max-Age=0", b"; Domain=x.com; Secure"])

_well_formed = st.builds(
    lambda pad1, name, pad2, value, attrs: pad1 + name + pad2 + b"=" + value + attrs,
    _padding,
    _name,
    _padding,
    _text,
    _attributes,
)
_comma_form = st.builds(lambda first, second: first + b"=1, " + second + b"=2", _name, _name)
_malformed = st.one_of(
    st.builds(bytes.__add__, _name, _attributes),  # no "=": nameless
    st.builds(lambda value: b"=" + value, _text),  # empty name
    st.sampled_from([b"", b"=", b";", b"; _ga=1", b" = ", b"=_ga=1", b";sid=1"]),
    st.binary(max_size=40),
)
_value = st.one_of(_well_formed, _comma_form, _malformed)
_set_cookie_key = st.sampled_from([b"set-cookie", b"Set-Cookie", b"SET-COOKIE", b"set-Cookie"])
_other = st.sampled_from(
    [
        (b"content-type", b"text/html"),
        (b"x-set-cookie", b"_fbp=1"),
        (b"cache-control", b"private"),
    ]
)
_headers = st.lists(st.one_of(st.tuples(_set_cookie_key, _value), _other), max_size=12)
_granted = st.one_of(st.none(), st.frozensets(st.sampled_from(OPTIONAL)))


def respond(middleware: ASGIApp, granted: frozenset[str] | None) -> list[Header]:
    """The headers ``middleware`` sends for ``APP.headers`` to a visitor who granted
    ``granted`` (``None``: undecided)."""
    request_headers = [] if granted is None else [(b"cookie", consent_cookie(granted))]
    return response_headers(call_sync(middleware, http_scope(headers=request_headers)))


@settings(max_examples=400, deadline=None)
@given(granted=_granted, headers=_headers)
def test_only_consented_cookies_leave(
    granted: frozenset[str] | None, headers: list[Header]
) -> None:
    APP.headers = headers
    out = respond(MIDDLEWARE, granted)

    allowed = granted or frozenset()  # undecided: nothing optional
    expected = [
        header
        for header in headers
        if header[0].lower() != b"set-cookie" or may_leave(header[1], allowed, POLICY)
    ]
    # Everything allowed is kept, byte for byte and in order; nothing else leaves.
    assert out[: len(expected)] == expected
    extra = out[len(expected) :]
    has_set_cookie = any(key.lower() == b"set-cookie" for key, _ in headers)
    assert extra == ([(b"vary", b"Cookie")] if has_set_cookie else [])
    for key, value in out:
        if key.lower() == b"set-cookie":
            assert may_leave(value, allowed, POLICY), value


_ALLOW = policy_from_string(
    Path(EXAMPLE_POLICY).read_text().replace("undeclared: block", "undeclared: allow")
)
_ALLOW_APP = _App()
_ALLOW_MIDDLEWARE: ASGIApp = ConsentMiddleware(_ALLOW_APP, policy=_ALLOW, secret_keys=KEY)


@settings(max_examples=200, deadline=None)
@given(headers=_headers)
def test_undeclared_cookies_pass_under_allow(headers: list[Header]) -> None:
    _ALLOW_APP.headers = headers
    out = response_headers(call_sync(_ALLOW_MIDDLEWARE, http_scope()))
    kept = [value for key, value in out if key.lower() == b"set-cookie"]
    for key, value in headers:
        if key.lower() != b"set-cookie":
            continue
        name = cookie_name(value)
        category = _ALLOW.category_of(name)
        undeclared = category is None
        assert (value in kept) == (undeclared or category == "necessary" or name in OWN_NAMES)


# The CSP (csp.py) is found and added in the same pass over the response headers as the
# cookie filter: with it on, every cookie decision must stay exactly the same.
_CSP_POLICY = Policy(
    POLICY.config.model_copy(update={"csp": POLICY.config.csp.model_copy(update={"enabled": True})})
)
_CSP_MIDDLEWARE: ASGIApp = ConsentMiddleware(APP, policy=_CSP_POLICY, secret_keys=KEY)
_page_headers = st.sampled_from(
    [
        (b"content-type", b"text/html"),
        (b"Content-Type", b"application/json"),
        (b"CONTENT-TYPE", b"text/html; charset=utf-8"),
        (b"content-security-policy", b"script-src 'self' 'nonce-app1'"),
        (b"Content-Security-Policy", b"img-src *"),
        (b"content-length", b"0"),
    ]
)
_csp_headers = st.lists(
    st.one_of(st.tuples(_set_cookie_key, _value), _other, _page_headers), max_size=12
)


@settings(max_examples=300, deadline=None)
@given(granted=_granted, headers=_csp_headers)
def test_the_csp_changes_no_cookie_decision(
    granted: frozenset[str] | None, headers: list[Header]
) -> None:
    APP.headers = headers
    plain = respond(MIDDLEWARE, granted)
    with_csp = respond(_CSP_MIDDLEWARE, granted)

    content_types = [value for key, value in headers if key.lower() == b"content-type"]
    runnable = bool(content_types) and content_types[-1].split(b";")[0] == b"text/html"
    kept = [header for header in plain if header != (b"vary", b"Cookie")]
    assert with_csp[: len(kept)] == kept  # the same headers, in the same order
    added = with_csp[len(kept) :]
    has_set_cookie = any(key.lower() == b"set-cookie" for key, _ in headers)
    if runnable:
        assert [key for key, _ in added] == [b"content-security-policy", b"vary"]
        assert b"script-src 'self'" in added[0][1]
    else:
        assert added == ([(b"vary", b"Cookie")] if has_set_cookie else [])


# -- the request side (rule 3): what the app sees of the Cookie header ------------------


class _CookieEcho:
    """Answers with the Cookie headers the app received, joined by newlines."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = b"\n".join(value for key, value in scope["headers"] if key == b"cookie")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"|" + seen})


ECHO: ASGIApp = ConsentMiddleware(_CookieEcho(), policy=POLICY, secret_keys=KEY)


def request_cookie_name(piece: bytes) -> str | None:
    """Rule 3, written out independently: the text before the first ``=``, stripped as
    ``str.strip`` strips; ``None`` for a blank piece, ``""`` for a nameless one."""
    text = piece.decode("latin-1")
    if not text.strip():
        return None
    return text.split("=")[0].strip() if "=" in text else ""


def may_stay(piece: bytes, granted: frozenset[str]) -> bool:
    name = request_cookie_name(piece)
    if name is None:
        return False
    if name in OWN_NAMES:
        return True
    category = POLICY.category_of(name)
    return category is not None and (category in granted or category in POLICY.required)


_piece = st.one_of(
    st.builds(lambda pad, name, value: pad + name + b"=" + value, _padding, _name, _text),
    _name,  # nameless
    _padding,  # blank
)


@settings(max_examples=400, deadline=None)
@given(granted=_granted, pieces=st.lists(_piece, max_size=10), first=st.booleans())
@example(granted=frozenset(["analytics"]), pieces=[b"consent=", b"_ga_="], first=False)
def test_the_app_sees_only_consented_request_cookies(
    granted: frozenset[str] | None, pieces: list[bytes], first: bool
) -> None:
    own = [] if granted is None else [consent_cookie(granted)]
    jar = [*own, *pieces] if first else [*pieces, *own]
    header = b";".join(jar)
    sent = call_sync(ECHO, http_scope(headers=[(b"cookie", header)] if jar else []))
    seen = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")[1:]
    # The first cookie under our plain name is the choice over http (docs/security.md): an
    # empty or foreign one before the real one leaves the visitor undecided.
    ours = [piece for piece in jar if request_cookie_name(piece) == "consent"]
    allowed = granted if granted is not None and ours[0] == own[0] else frozenset()
    if all(may_stay(piece, allowed) or request_cookie_name(piece) is None for piece in jar):
        assert seen == (header if jar else b"")  # nothing to hide: the header untouched
    else:
        kept = [
            piece.decode("latin-1").strip().encode("latin-1")
            for piece in jar
            if may_stay(piece, allowed)
        ]
        assert seen == b"; ".join(kept)
