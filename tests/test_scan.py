"""The per-cookie loops: the C functions (consent/_speedups.c) answer exactly as their
specification in Python (consent/scan.py), caches and cache misses included."""

from __future__ import annotations

import json
import os
import re
import zlib
from collections import UserDict
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.policies import regional_policy, with_csp
from consent import ConsentMiddleware, Policy, scan
from consent.cookies import MAX_COOKIE_HEADER_BYTES, MAX_REQUEST_COOKIES, WHITESPACE
from tests.conftest import KEY, call_sync, http_scope, response_headers

OWN = 1 << 3
NAMELESS = 1 << 6
TRUNCATED = 1 << 7


def built() -> Any:
    module = scan.speedups()
    if module is None:
        pytest.skip(f"the C speedups are not built or {scan.PURE_PYTHON_ENV}=1")
    return module


def implementations() -> list[Any]:
    """The Python functions, and the C ones when built: modules with both names."""
    fast = scan.speedups()
    return [scan] if fast is None else [scan, fast]


def test_the_install_built_the_speedups() -> None:
    """`make` installs with CONSENT_REQUIRE_SPEEDUPS=1: tests and bench run the C loops."""
    if os.environ.get(scan.PURE_PYTHON_ENV) == "1":
        pytest.skip("the pure-Python loops were asked for")
    module = scan.speedups()
    assert module is not None
    assert scan.implementation(10) == scan.Loops(
        module.read_headers, module.scan_cookies, module.filter_headers, module.send_message
    )


def test_pure_python_when_asked_or_when_masks_are_wider_than_64_bits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    python = scan.Loops(scan.read_headers, scan.scan_cookies, scan.filter_headers, None)
    assert scan.implementation(scan.C_MASK_BITS + 1) == python
    monkeypatch.setenv(scan.PURE_PYTHON_ENV, "1")
    assert scan.speedups() is None
    assert scan.implementation(10) == python


@pytest.mark.parametrize("before", [None, "0"])
def test_pure_python_asks_for_python_then_leaves_the_environment_as_it_was(
    before: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if before is None:
        monkeypatch.delenv(scan.PURE_PYTHON_ENV, raising=False)
    else:
        monkeypatch.setenv(scan.PURE_PYTHON_ENV, before)
    with scan.pure_python():
        assert scan.implementation(10).send_message is None
    assert os.environ.get(scan.PURE_PYTHON_ENV) == before


# -- request headers -------------------------------------------------------------

_request_key = st.sampled_from([b"cookie", b"Cookie", b"sec-gpc", b"cf-ipcountry", b"host", b""])
_request_headers = st.lists(
    st.builds(
        lambda shape, key, value: shape((key, value)),
        st.sampled_from([tuple, list]),
        _request_key,
        st.binary(max_size=6),
    ),
    max_size=8,
)
_names = st.sampled_from(
    [
        (b"cookie", None, None, None),
        (b"cookie", b"sec-gpc", b"cf-ipcountry", b"cf-region"),
        (b"cookie", None, b"", None),
    ]
)


@settings(max_examples=300, deadline=None)
@given(headers=_request_headers, names=_names)
def test_read_headers_in_c_answers_as_in_python(
    headers: list[Any], names: tuple[bytes | None, ...]
) -> None:
    assert built().read_headers(headers, names) == scan.read_headers(headers, names)


def test_read_headers_joins_cookies_and_keeps_the_last_of_the_others() -> None:
    headers = [
        (b"cookie", b"a=1"),
        [b"sec-gpc", b"0"],
        (b"Cookie", b"x=9"),  # ASGI names are lower case: not ours
        (b"cookie", b"b=2; c=3"),
        (b"sec-gpc", b"1"),
        iter((b"cookie", b"d=4")),  # any pair, as ``key, value = header`` takes it
    ]
    for module in implementations():
        assert module.read_headers(headers[:5], (b"cookie", b"sec-gpc", None)) == (
            b"a=1; b=2; c=3",
            b"1",
            None,
            True,
        )
        assert module.read_headers([], (b"cookie", b"sec-gpc")) == (None, None, False)
    assert built().read_headers(headers, (b"cookie",)) == (b"a=1; b=2; c=3; d=4", True)


# -- request Cookie headers ----------------------------------------------------

_space = st.sampled_from([b"", b" ", b"\t", b"\xa0", b"\x85", b"\x1c ", b"  "])
_name = st.sampled_from([b"sid", b"consent", b"_ga", b"_ga_1", b"", b"a b", b"x\x00", b"IDE"])
_value = st.binary(max_size=8).map(lambda value: value.replace(b";", b""))
_pair = st.builds(
    lambda pad1, name, pad2, value, pad3: pad1 + name + pad2 + b"=" + value + pad3,
    _space,
    _name,
    _space,
    _value,
    _space,
)
_piece = st.one_of(_pair, _space, _name, _value)  # blank pieces and pairs without "="
_header = st.one_of(
    st.lists(_piece, max_size=12).map(b";".join),
    st.binary(max_size=60),
)


def _bit_of(name: bytes) -> int:
    """A made-up verdict: a name's bit, from a stable hash of its stripped text."""
    stripped = name.strip(WHITESPACE)
    return OWN if stripped == b"consent" else (1, 2, 4, 16, 32)[zlib.crc32(stripped) % 5]


def run_scan(
    function: scan.ScanCookies, header: bytes, known: list[bytes], limit: int, max_bytes: int
) -> tuple[tuple[int, bytes | None], dict[bytes, int], list[bytes]]:
    """``function``'s answer, with the cache it leaves and the misses it asked about."""
    bits = {name: _bit_of(name) for name in known}
    asked: list[bytes] = []

    def learn(raw_name: bytes) -> int:
        asked.append(raw_name)
        bits[raw_name] = bit = _bit_of(raw_name)
        return bit

    context = (bits, learn, NAMELESS, TRUNCATED, limit, max_bytes)
    answer = function(header, context, OWN)
    return answer, bits, asked


@settings(max_examples=600, deadline=None)
@given(
    header=_header,
    known=st.lists(st.builds(bytes.__add__, _space, _name), max_size=6),
    limit=st.one_of(st.integers(0, 6), st.just(MAX_REQUEST_COOKIES)),
    max_bytes=st.one_of(st.integers(0, 40), st.just(MAX_COOKIE_HEADER_BYTES)),
)
def test_scan_cookies_in_c_answers_as_in_python(
    header: bytes, known: list[bytes], limit: int, max_bytes: int
) -> None:
    fast = built()
    assert run_scan(fast.scan_cookies, header, known, limit, max_bytes) == run_scan(
        scan.scan_cookies, header, known, limit, max_bytes
    )


def test_scan_cookies_reads_bits_names_and_our_value() -> None:
    header = b"sid=1; consent= tok en ; consent=2;  ; bare;x"
    for module in implementations():
        function = module.scan_cookies
        (present, raw), _, asked = run_scan(function, header, [b"sid"], 200, 1000)
        assert raw == b"tok en"  # the first one, stripped
        assert asked == [b" consent"]  # learnt once, then cached
        assert present == _bit_of(b"sid") | OWN | NAMELESS
        (present, raw), _, _ = run_scan(function, b"a=1;b=2;consent=3", [], 2, 1000)
        assert raw is None  # past the limit: not read
        assert present & TRUNCATED
        (present, raw), _, _ = run_scan(function, b"a=1; consent=3", [], 200, 6)
        assert raw is None  # past the byte bound: cut after "a=1;"
        assert present == _bit_of(b"a") | TRUNCATED


# -- response headers ----------------------------------------------------------

_key = st.sampled_from(
    [
        b"set-cookie",
        b"Set-Cookie",
        b"SET-COOKIE",
        b"set-cookiE",
        b"set-cookie2",
        b"vary",
        b"Vary",
        b"content-type",
        b"Content-Type",
        b"content-security-policy",
        b"Content-Security-Policy",
        b"x-set-cookie",
        b"cache-control",
    ]
)
_set_cookie_value = st.one_of(
    st.builds(
        lambda name, value, rest: name + b"=" + value + rest,
        st.builds(bytes.__add__, _space, _name),
        _value,
        st.sampled_from([b"", b"; Path=/", b"; a=b"]),
    ),
    st.binary(max_size=20),
)
_shape = st.sampled_from([tuple, list, bytearray])  # how the pair, or its key, is held


def _pair_of(shape: type, key: bytes, value: bytes) -> Any:
    if shape is bytearray:  # a bytes-like key, still a header name
        return (bytearray(key), value)
    return shape((key, value))


_response = st.lists(
    st.builds(_pair_of, _shape, _key, st.one_of(_set_cookie_value, st.binary(max_size=8))),
    max_size=12,
)


def _keep_of(value: bytes, allowed: int) -> bool:
    name = value.partition(b"=")[0]
    return bool(_bit_of(name) & allowed)


def run_filter(
    function: scan.FilterHeaders, headers: list[Any], known: list[bytes], allowed: int, csp: bool
) -> tuple[Any, ...]:
    """``function``'s answer, with the cache it leaves and the misses it asked about."""
    keeps = {name: bool(_bit_of(name) & allowed) for name in known}
    asked: list[bytes] = []

    def learn(cache: dict[bytes, bool], value: bytes, mask: int) -> bool:
        assert cache is keeps
        assert mask == allowed
        asked.append(value)
        keeps[value.partition(b"=")[0]] = keep = _keep_of(value, mask)
        return keep

    kept, vary_index, content_type, app_policies, seen = function(
        headers, keeps, learn, allowed, NAMELESS, csp
    )
    assert all(any(header is mine for mine in headers) for header in kept)  # the app's objects
    return kept, vary_index, content_type, app_policies, seen, keeps, asked


@settings(max_examples=600, deadline=None)
@given(
    headers=_response,
    known=st.lists(st.builds(bytes.__add__, _space, _name), max_size=6),
    allowed=st.integers(0, (1 << 8) - 1),
    csp=st.booleans(),
)
def test_filter_headers_in_c_answers_as_in_python(
    headers: list[Any], known: list[bytes], allowed: int, csp: bool
) -> None:
    fast = built()
    assert run_filter(fast.filter_headers, headers, known, allowed, csp) == run_filter(
        scan.filter_headers, headers, known, allowed, csp
    )


def test_filter_headers_notes_vary_content_type_and_policies() -> None:
    headers = [
        (b"Content-Type", b"text/plain"),
        (b"set-cookie", b"sid=1; Path=/"),
        (b"vary", b"Accept"),
        (b"content-type", b"text/html"),
        (b"Content-Security-Policy", b"default-src 'self'"),
        (b"set-cookie", b"nameless"),
    ]
    for module in implementations():
        function = module.filter_headers
        kept, vary_index, content_type, app_policies, seen, keeps, asked = run_filter(
            function,
            headers,
            [],
            0x3F,
            True,  # NAMELESS not allowed
        )
        assert kept == [headers[0], headers[1], headers[2], headers[3], headers[4]]
        assert (vary_index, content_type, seen) == (2, b"text/html", True)
        assert app_policies == (b"default-src 'self'",)
        assert asked == [b"sid=1; Path=/"]  # a nameless one needs no cache: NAMELESS & allowed
        assert keeps == {b"sid": True}
        # Without the CSP, its headers are not looked for.
        _, _, content_type, app_policies, _, _, _ = run_filter(function, headers, [], 0, False)
        assert (content_type, app_policies) == (None, ())


# -- what the C functions refuse -------------------------------------------------


def _fail(_: object, *__: object) -> Any:
    raise LookupError("a cache miss that fails")


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: c.read_headers([]), TypeError),
        (lambda c: c.read_headers(5, ()), TypeError),
        (lambda c: c.read_headers([(b"cookie",)], (b"cookie",)), ValueError),
        (lambda c: c.read_headers([5], (b"cookie",)), TypeError),
        (lambda c: c.read_headers([(b"cookie", b"a"), (b"cookie", "b")], (b"cookie",)), TypeError),
        (lambda c: c.scan_cookies(b"a=1"), TypeError),
        (lambda c: c.scan_cookies(b"a=1", ({}, _fail, 2, 4, 200), 1), TypeError),
        (lambda c: c.scan_cookies("a=1", ({}, _fail, 2, 4, 200, 99), 1), TypeError),
        (lambda c: c.scan_cookies(b"a=1", ({}, _fail, 2, 4, 200, 99), 1), LookupError),
        (lambda c: c.scan_cookies(b"a=1", ({b"a": "x"}, _fail, 2, 4, 200, 99), 1), TypeError),
        (lambda c: c.scan_cookies(b"a=1", ({}, _fail, 2, 4, 200, 99), -1), OverflowError),
        (lambda c: c.filter_headers([]), TypeError),
        (lambda c: c.filter_headers([], [], _fail, 1, 2, False), TypeError),
        (lambda c: c.filter_headers(5, {}, _fail, 1, 2, False), TypeError),
        (lambda c: c.filter_headers([(b"vary",)], {}, _fail, 1, 2, False), ValueError),
        (lambda c: c.filter_headers([5], {}, _fail, 1, 2, False), TypeError),
        (lambda c: c.filter_headers([(b"set-cookie", "a=1")], {}, _fail, 1, 2, False), TypeError),
        (
            lambda c: c.filter_headers([(b"set-cookie", b"a=1")], {}, _fail, 1, 2, False),
            LookupError,
        ),
    ],
)
def test_c_functions_raise_on_what_python_would_refuse(
    call: Callable[[Any], object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        call(built())


def test_c_filter_takes_any_pair_and_survives_a_miss_that_grows_the_cache() -> None:
    fast = built()
    keeps: dict[bytes, bool] = {}

    def learn(cache: dict[bytes, bool], value: bytes, allowed: int) -> bool:
        for index in range(2000):  # the dict is resized under the C loop's feet
            cache[b"filler%d" % index] = False
        cache[value.partition(b"=")[0]] = True
        return True

    headers = [iter((b"set-cookie", b"a=1")), (b"set-cookie", b"b=2"), [b"vary", b"x"]]
    kept, vary_index, _, _, seen = fast.filter_headers(headers, keeps, learn, 1, 2, False)
    assert kept == headers
    assert (vary_index, seen) == (2, True)


# -- the whole middleware, either way -------------------------------------------


def _middleware(policy: Policy, app: ASGIApp, *, pure: bool) -> ConsentMiddleware:
    """A middleware on ``policy`` whose loops are Python (``pure``) or, when built, C."""
    if pure:
        with scan.pure_python():
            return ConsentMiddleware(app, policy=policy, secret_keys=KEY)
    return ConsentMiddleware(app, policy=policy, secret_keys=KEY)


def consent_token(policy: Policy, choice: str) -> bytes:
    """A real token for ``choice`` (an action, or one optional category), from the endpoint."""
    body = {"action": choice} if choice.endswith("_all") else {"granted": [choice]}
    scope = http_scope("/consent", method="POST", headers=[(b"content-type", b"application/json")])
    endpoint = ConsentMiddleware(ANSWER, policy=policy, secret_keys=KEY)
    sent = call_sync(endpoint, scope, [{"type": "http.request", "body": json.dumps(body).encode()}])
    cookie = next(v for k, v in response_headers(sent) if k == b"set-cookie")
    return cookie.split(b";")[0].removeprefix(b"consent=")


class _Answer:
    """Sends the start message the current example prepared, then a body."""

    def __init__(self) -> None:
        self.start: dict[str, Any] = {}
        self.kind: type[Any] = dict  # ASGI messages are dicts; any mapping should do

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(self.kind(self.start))
        await send({"type": "http.response.body", "body": b"<p>hi"})


ANSWER = _Answer()
# Regimes, GPC and the CSP all on, so that every branch of the sends is reachable.
FULL = with_csp(regional_policy())
PAIR = (_middleware(FULL, ANSWER, pure=True), _middleware(FULL, ANSWER, pure=False))
TOKENS = {
    choice: consent_token(FULL, choice)
    for choice in ("accept_all", "reject_all", "analytics", "functional")
}

_jar = st.lists(
    st.sampled_from(
        [b"sid=1", b"_ga=GA1", b"lang=fr", b"_fbp=x", b"IDE=1", b"tracker=1", b" _pk_id.1=2"]
    ),
    max_size=5,
)
_token = st.one_of(st.none(), st.sampled_from(sorted(TOKENS)))
_extra = st.lists(
    st.sampled_from(
        [(b"sec-gpc", b"1"), (b"cf-ipcountry", b"US-CA"), (b"cf-ipcountry", b"FR"), (b"x", b"y")]
    ),
    max_size=3,
)
_app_headers = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from([b"set-cookie", b"Set-Cookie"]),
            st.sampled_from([b"sid=1", b"_ga=2; Path=/", b"_fbp=3", b"nameless", b"ab=1"]),
        ),
        st.sampled_from(
            [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-type", b"application/json"),
                (b"vary", b"Accept-Encoding"),
                (b"content-security-policy", b"script-src 'self' 'nonce-abc'"),
            ]
        ),
    ),
    max_size=8,
)
_message_type = st.sampled_from(["http.response.start", "http.response.start", "websocket.accept"])


@settings(max_examples=300, deadline=None)
@given(
    jar=_jar,
    token=_token,
    extra=_extra,
    app_headers=st.one_of(st.none(), _app_headers),
    start_type=_message_type,
    kind=st.sampled_from([dict, UserDict]),
)
def test_the_middleware_answers_the_same_with_either_loops(
    jar: list[bytes],
    token: str | None,
    extra: list[tuple[bytes, bytes]],
    app_headers: list[tuple[bytes, bytes]] | None,
    start_type: str,
    kind: type[Any],
) -> None:
    built()
    ANSWER.kind = kind
    pairs = [*jar, *([b"consent=" + TOKENS[token]] if token else [])]
    request = [*([(b"cookie", b"; ".join(pairs))] if pairs else []), *extra]
    ANSWER.start = {"type": start_type, "status": 200}
    if app_headers is not None:
        ANSWER.start["headers"] = app_headers
    scope_type = "websocket" if start_type == "websocket.accept" else "http"
    answers = []
    for middleware in PAIR:
        sent = call_sync(middleware, http_scope(headers=request, scope_type=scope_type))
        # Nonces differ per request: compare everything but the nonce itself.
        answers.append(re.sub(rb"'nonce-[0-9a-f]+'", b"'nonce-N'", repr(sent).encode()))
    assert answers[0] == answers[1]
