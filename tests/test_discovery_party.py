"""First or third party by registrable domain (consent/discovery/party.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from consent.discovery.party import party, registrable_domain
from consent.policy.hostnames import normalize_host


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com", "example.com"),
        ("www.shop.example.com", "example.com"),
        ("a.example.co.uk", "example.co.uk"),
        (".example.com", "example.com"),  # a cookie's Domain attribute
        ("WWW.Example.COM.", "example.com"),  # case and a fully qualified name
        ("alice.github.io", "alice.github.io"),  # a private suffix: one site per user
        ("x.y.alice.github.io", "alice.github.io"),
        ("github.io", "github.io"),  # a public suffix itself is only itself
        ("co.uk", "co.uk"),
        ("localhost", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("intranet", "intranet"),
        ("bücher.de", "xn--bcher-kva.de"),  # as a browser sends it
        ("www.xn--bcher-kva.de", "xn--bcher-kva.de"),
    ],
)
def test_registrable_domain(host: str, expected: str) -> None:
    assert registrable_domain(host) == expected


def test_an_empty_host_has_no_registrable_domain() -> None:
    with pytest.raises(ValueError, match="empty host"):
        registrable_domain(" . ")


@pytest.mark.parametrize(
    ("host", "site", "expected"),
    [
        ("a.example.co.uk", "b.example.co.uk", "first"),
        ("static.example.com", "www.example.com", "first"),
        (".example.com", "example.com", "first"),
        ("example.com", "evilexample.com", "third"),  # a substring is not a site
        ("example.com.evil.net", "example.com", "third"),
        ("example.co.uk", "other.co.uk", "third"),  # both under one public suffix
        ("alice.github.io", "bob.github.io", "third"),  # private suffix: two owners
        ("www.google-analytics.com", "www.example.com", "third"),
        ("127.0.0.1", "127.0.0.1", "first"),
        ("127.0.0.1", "127.0.0.2", "third"),
        ("localhost", "localhost", "first"),
        ("localhost", "example.com", "third"),
    ],
)
def test_party(host: str, site: str, expected: str) -> None:
    assert party(host, site) == expected


def test_a_name_that_is_not_valid_idna_is_compared_as_written() -> None:
    bad = "a" * 70 + "ü.com"  # a label longer than 63 characters cannot be encoded
    assert normalize_host(bad) == bad
    assert party(bad, bad) == "first"


def test_without_publicsuffixlist_the_error_says_what_to_install() -> None:
    # A fresh interpreter where the package cannot be imported: this module still loads
    # (the consent command imports it), and the first comparison says what is missing.
    code = (
        "import sys; sys.modules['publicsuffixlist'] = None\n"
        "from consent.discovery.party import party\n"
        "party('a.example.org', 'b.example.org')\n"
    )
    run = subprocess.run(  # noqa: S603 - our own interpreter and code, no shell
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert run.returncode == 1
    assert "ImportError: telling first from third party needs the publicsuffixlist" in run.stderr
    assert "pip install 'asgi-cookie-consent[scan]'" in run.stderr
