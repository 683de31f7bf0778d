"""Byte-level cookie parsing (rules 2 and 3) and the one Set-Cookie builder (rules 4 and 9)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.enforcement.cookies import (
    EPOCH,
    MAX_COOKIE_HEADER_BYTES,
    MAX_REQUEST_COOKIES,
    WHITESPACE,
    build_set_cookie,
    cookie_pieces,
    expire_cookie,
    join_cookie_headers,
    name_before_equals,
)


# The two readings the middleware makes of cookie text, from the same primitives it uses
# (its loops are held to rules 2 and 3 end to end by tests/test_properties.py).
def set_cookie_name(value: bytes) -> bytes:
    """Rule 2, as the response filter reads a ``Set-Cookie`` (enforcement/response.py)."""
    raw_name, equals, _ = value.partition(b"=")
    return name_before_equals(raw_name) if equals else b""


def parse_cookie_header(header: bytes) -> list[tuple[bytes, bytes]]:
    """Rule 3, as the request side reads a ``Cookie`` header (enforcement/request.py):
    ``(name, pair as the app gets it)`` for every piece that is not blank."""
    result = []
    for piece in cookie_pieces(header)[0]:
        pair = piece.strip(WHITESPACE)
        if pair:
            raw_name, equals, _ = piece.partition(b"=")
            result.append((name_before_equals(raw_name) if equals else b"", pair))
    return result


# -- Set-Cookie names (rule 2) ---------------------------------------------------


@pytest.mark.parametrize(
    ("header", "name"),
    [
        (b"sid=abc; Path=/; HttpOnly", b"sid"),
        (b"sid=", b"sid"),
        (b"  sid  =abc", b"sid"),
        (b"a=1, b=2", b"a"),  # never split on commas
        (b"a=b=c; Path=/", b"a"),  # the first '=' ends the name
        (b"_ga_X1=GS1.1; Domain=.example.com", b"_ga_X1"),
        (b"justavalue", b""),  # no '=': a nameless cookie
        (b"justavalue; Path=/x=y", b""),  # an '=' after ';' does not count
        (b"=value", b""),
        (b"", b""),
        (b";sid=abc", b""),
        (b'"sid"=abc', b'"sid"'),  # no unquoting
    ],
)
def test_set_cookie_name(header: bytes, name: bytes) -> None:
    assert set_cookie_name(header) == name


# -- request Cookie header (rule 3) ----------------------------------------------


def test_parse_cookie_header_keeps_raw_pairs_in_order() -> None:
    header = b'sid=abc; _ga=GA1.2; lang="en"; empty=; flag; a=b=c;;  spaced = x '
    assert parse_cookie_header(header) == [
        (b"sid", b"sid=abc"),
        (b"_ga", b"_ga=GA1.2"),
        (b"lang", b'lang="en"'),
        (b"empty", b"empty="),
        (b"", b"flag"),
        (b"a", b"a=b=c"),
        (b"spaced", b"spaced = x"),
    ]


def test_an_odd_cookie_does_not_hide_the_rest() -> None:
    # SimpleCookie stops at the first cookie it cannot parse; we must not.
    header = b'bad\\"cookie=1; x=[{"json":1}]; sid=abc'
    names = [name for name, _ in parse_cookie_header(header)]
    assert names == [b'bad\\"cookie', b"x", b"sid"]


def test_join_cookie_headers() -> None:
    assert join_cookie_headers([b"a=1", b"b=2; c=3"]) == b"a=1; b=2; c=3"
    assert parse_cookie_header(join_cookie_headers([b"a=1", b"a=2"]))[0] == (b"a", b"a=1")
    assert join_cookie_headers([]) == b""


def test_count_is_bounded() -> None:
    header = b"; ".join(b"c%d=%d" % (i, i) for i in range(MAX_REQUEST_COOKIES + 50))
    pairs = parse_cookie_header(header)
    assert len(pairs) == MAX_REQUEST_COOKIES
    assert pairs[-1] == (b"c199", b"c199=199")


def test_bytes_are_bounded_and_a_cut_cookie_is_dropped() -> None:
    pair = b"n%04d=" + b"v" * 90
    header = b"; ".join(pair % i for i in range(190))  # about 18 KiB
    assert len(header) > MAX_COOKIE_HEADER_BYTES
    pairs = parse_cookie_header(header)
    kept = b"; ".join(raw for _, raw in pairs)
    assert len(kept) <= MAX_COOKIE_HEADER_BYTES
    assert header.startswith(kept)
    # Every kept pair is whole: none was cut at the byte limit.
    assert all(len(raw) == len(pair % 0) for _, raw in pairs)


def test_oversized_header_without_separator_yields_nothing() -> None:
    assert parse_cookie_header(b"a=" + b"x" * MAX_COOKIE_HEADER_BYTES) == []


def test_header_of_exactly_the_limit_is_kept_whole() -> None:
    header = b"a=" + b"x" * (MAX_COOKIE_HEADER_BYTES - 2)
    assert parse_cookie_header(header) == [(b"a", header)]


@given(st.binary(max_size=2_000))
def test_parsers_never_raise_on_arbitrary_bytes(data: bytes) -> None:
    pairs = parse_cookie_header(data)
    assert len(pairs) <= MAX_REQUEST_COOKIES
    for name, raw in pairs:
        assert raw
        assert raw in data
        assert raw.startswith(name)
    set_cookie_name(data)


@pytest.mark.parametrize("character", [b"\\", b'"', b";", b"=", b" ", b","])
def test_parsers_stay_linear(character: bytes) -> None:
    header = character * 20_000
    started = time.perf_counter()
    parse_cookie_header(b"a=" + header)
    parse_cookie_header(header)
    set_cookie_name(header)
    set_cookie_name(b"a=" + header)
    assert time.perf_counter() - started < 1.0


# -- building Set-Cookie (rules 4 and 9) -----------------------------------------


def test_build_minimal() -> None:
    assert build_set_cookie("lang", "en") == b"lang=en; Path=/"


def test_build_with_every_attribute() -> None:
    value = build_set_cookie(
        "consent",
        "token",
        max_age=3600,
        path="/shop",
        domain="example.com",
        secure=True,
        http_only=True,
        same_site="Lax",
        expires="Fri, 01 Jan 2027 00:00:00 GMT",
    )
    assert value == (
        b"consent=token; Path=/shop; Domain=example.com; Max-Age=3600; "
        b"Expires=Fri, 01 Jan 2027 00:00:00 GMT; Secure; HttpOnly; SameSite=Lax"
    )


@pytest.mark.parametrize(
    ("name", "secure", "partitioned", "expected"),
    [
        ("a", False, False, False),
        ("a", True, False, True),
        ("a", False, True, True),  # Partitioned implies Secure
        ("__Host-consent", False, False, True),  # so do the cookie prefixes
        ("__Secure-consent", False, False, True),
        ("__host-consent", False, False, False),  # the prefixes are case-sensitive
    ],
)
def test_secure_is_implied_where_browsers_require_it(
    name: str, secure: bool, partitioned: bool, expected: bool
) -> None:
    value = build_set_cookie(name, "v", secure=secure, partitioned=partitioned)
    attributes = value.split(b"; ")
    assert (b"Secure" in attributes) is expected
    assert (b"Partitioned" in attributes) is partitioned


def test_expire_cookie_deletes_as_it_was_set() -> None:
    assert expire_cookie("_ga") == f"_ga=; Path=/; Max-Age=0; Expires={EPOCH}".encode()
    assert (
        expire_cookie("_pk_id.1.ab", path="/shop", domain=".example.com", partitioned=True)
        == (
            f"_pk_id.1.ab=; Path=/shop; Domain=.example.com; Max-Age=0; Expires={EPOCH}; "
            "Secure; Partitioned"
        ).encode()
    )
    assert EPOCH == "Thu, 01 Jan 1970 00:00:00 GMT"


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("name", "a\r\nSet-Cookie: evil=1"),
        ("name", "a;b"),
        ("name", "a=b"),
        ("name", "a b"),
        ("name", "sid\n"),
        ("name", ""),
        ("value", "x\r\nX-Evil: 1"),
        ("value", "x; Domain=evil.example"),
        ("value", "x\x00"),
        ("path", "/a\nX: y"),
        ("path", "/a; Domain=evil.example"),
        ("domain", "example.com\r\nX: y"),
        ("domain", "example.com; Secure"),
    ],
)
def test_header_injection_is_refused(field: str, text: str) -> None:
    with pytest.raises(ValueError, match=f"cookie {field}"):
        build_set_cookie(
            text if field == "name" else "a",
            text if field == "value" else "v",
            path=text if field == "path" else "/",
            domain=text if field == "domain" else None,
        )
    if field == "value":
        return  # expire_cookie always writes an empty value
    with pytest.raises(ValueError, match=f"cookie {field}"):
        expire_cookie(
            text if field == "name" else "a",
            path=text if field == "path" else "/",
            domain=text if field == "domain" else None,
        )


def test_names_are_stripped_as_frameworks_strip_them() -> None:
    # Starlette's parser strips with str.strip(): "\xa0_fbp" must be classified as "_fbp".
    assert [name for name, _ in parse_cookie_header(b"\xa0_fbp=1;\x1c_ga\x85=2")] == [
        b"_fbp",
        b"_ga",
    ]
    assert set_cookie_name(b"\xa0_fbp=1; Path=/") == b"_fbp"
