"""A declared cookie is deleted in every scope it may carry, and a declaration that does
not say how the app really scopes the cookie is logged once per name."""

from __future__ import annotations

import logging

import pytest

from consent.enforcement.scopes import DeclaredScope, ScopeWarnings
from consent.policy.config import CookieDeclaration
from tests.conftest import (
    EPOCH,
    MakeClient,
    choose,
    header_app,
    set_cookies,
    small_policy,
    with_consent,
)

SHOP_DOMAIN = """\
  necessary:
    title: Necessary
    required: true
    cookies:
      - name: sid
  analytics:
    title: Analytics
    cookies:
      - name: _ga
        domain: shop.test
      - name: "_pk_id.*"
        path: /shop
      - name: __Host-track
"""


def declared(**fields: str) -> DeclaredScope:
    return DeclaredScope.of("_ga", CookieDeclaration.model_validate({"name": "_ga", **fields}))


@pytest.mark.parametrize(
    ("fields", "set_cookie", "difference"),
    [
        ({}, b"_ga=1; Path=/", None),
        ({}, b"_ga=1; path=/; HttpOnly", None),
        ({"domain": "shop.test"}, b"_ga=1; Domain=.Shop.TEST; Path=/", None),
        ({"domain": "shop.test"}, b"_ga=1; Path=/", "host-only where the policy declares"),
        ({}, b"_ga=1; Domain=shop.test; Path=/", "Domain=shop.test where the policy declares"),
        # RFC 6265 5.2: an empty Domain is no Domain, and the last attribute wins.
        ({}, b"_ga=1; Domain=; Path=/", None),
        ({}, b"_ga=1; Path=/x; Path=/", None),
        ({"path": "/shop"}, b"_ga=1; Path=/", "Path=/ where the policy declares Path=/shop"),
        # No Path (or one not starting with "/"): the browser uses the page's directory.
        ({}, b"_ga=1", "no Path where the policy declares Path=/"),
        ({}, b"_ga=1; Path=shop", "no Path where the policy declares Path=/"),
    ],
)
def test_the_difference_between_a_set_cookie_and_its_declaration(
    fields: dict[str, str], set_cookie: bytes, difference: str | None
) -> None:
    found = declared(**fields).difference(set_cookie)
    if difference is None:
        assert found is None
    else:
        assert found is not None
        assert difference in found


def test_withdrawal_expires_host_only_and_root_path_as_well(make_client: MakeClient) -> None:
    # The defect: only "_ga=; Path=/; Domain=shop.test" went out, which a browser ignores
    # for a _ga the app had set host-only, so the cookie stayed in the jar.
    client = make_client(policy_=small_policy("", SHOP_DOMAIN))
    response = client.get("/", headers={"cookie": "_ga=1; _pk_id.7=2; __Host-track=3"})
    assert set_cookies(response) == [
        f"_ga=; Path=/; Domain=shop.test; Max-Age=0; {EPOCH}",
        f"_ga=; Path=/; Max-Age=0; {EPOCH}",
        f"_pk_id.7=; Path=/shop; Max-Age=0; {EPOCH}",
        f"_pk_id.7=; Path=/; Max-Age=0; {EPOCH}",
        # A __Host- cookie can only ever be host-only under "/".
        f"__Host-track=; Path=/; Max-Age=0; {EPOCH}; Secure",
    ]


def test_a_set_cookie_scoped_unlike_its_declaration_is_logged_once_per_name(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    app = header_app(
        [
            (b"set-cookie", b"_ga=1; Path=/"),  # host-only, declared with shop.test
            (b"set-cookie", b"_pk_id.7=1; Path=/shop"),  # as declared
            (b"set-cookie", b"sid=1; Path=/"),  # as declared (no domain, "/")
        ]
    )
    client = make_client(policy_=small_policy("", SHOP_DOMAIN), app=app)
    with caplog.at_level(logging.WARNING, logger="consent"):
        client.get("/")  # undecided: _ga is refused, never lands, is not checked
        assert not [r for r in caplog.records if r.name == "consent"]
        accepted = with_consent(choose(client))
        client.get("/", headers=accepted)
        client.get("/", headers=accepted)
    warnings = [r.getMessage() for r in caplog.records if r.name == "consent"]
    assert len(warnings) == 1, warnings
    assert "'_ga'" in warnings[0]
    assert "host-only where the policy declares Domain=shop.test" in warnings[0]


def test_a_cookie_set_as_declared_is_not_logged(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    app = header_app([(b"set-cookie", b"_ga=1; Domain=shop.test; Path=/; Secure")])
    client = make_client(policy_=small_policy("", SHOP_DOMAIN), app=app)
    with caplog.at_level(logging.WARNING, logger="consent"):
        client.get("/", headers=with_consent(choose(client)))
    assert not [r for r in caplog.records if r.name == "consent"]


def test_attributes_already_read_are_not_read_again_but_new_ones_are(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope = declared(domain="shop.test")
    warnings = ScopeWarnings()
    reads: list[bytes] = []
    difference = DeclaredScope.difference

    def counted(self: DeclaredScope, set_cookie: bytes) -> str | None:
        reads.append(set_cookie)
        return difference(self, set_cookie)

    monkeypatch.setattr(DeclaredScope, "difference", counted)
    with caplog.at_level(logging.WARNING, logger="consent"):
        for value in (b"1", b"2"):  # values differ, attributes do not: read once
            warnings.check(scope, b"_ga=" + value + b"; Domain=shop.test; Path=/")
        assert reads == [b"_ga=1; Domain=shop.test; Path=/"]
        assert not caplog.records
        warnings.check(scope, b"_ga=3; Path=/")  # new attributes: read, and wrong
        warnings.check(scope, b"_ga=4; Path=/x")  # wrong too, but _ga was warned about
    assert len(caplog.records) == 1
    assert "host-only" in caplog.records[0].getMessage()
