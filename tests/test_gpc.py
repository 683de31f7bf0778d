"""Global Privacy Control: which categories Sec-GPC refuses, and /.well-known/gpc.json."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from consent import ConfigError, ConsentMiddleware, Policy

from .banner_support import client as banner_client
from .banner_support import html_app, policy_with
from .conftest import KEY, cookie_app, set_cookie_names, small_policy

GPC = {"sec-gpc": "1"}


def client(policy: Policy) -> TestClient:
    app = cookie_app([("sid", "1"), ("_ga", "2"), ("_fbp", "3")])
    return TestClient(ConsentMiddleware(app, policy=policy, secret_keys=[KEY]))


def test_gpc_refuses_advertisement_by_default_outside_opt_in() -> None:
    response = client(small_policy("mode: opt-out\n")).get("/", headers=GPC)
    assert set_cookie_names(response) == ["sid", "_ga"]


def test_gpc_refuses_what_the_file_names() -> None:
    policy = small_policy("mode: opt-out\ngpc_refuses: [analytics, advertisement]\n")
    assert set_cookie_names(client(policy).get("/", headers=GPC)) == ["sid"]
    only_analytics = small_policy("mode: notice\ngpc_refuses: [analytics]\n")
    assert set_cookie_names(client(only_analytics).get("/", headers=GPC)) == ["sid", "_fbp"]


def test_gpc_in_opt_in_refuses_everything_optional_whatever_it_names() -> None:
    policy = small_policy("gpc_refuses: [analytics]\n")
    response = client(policy).get("/consent", headers=GPC)
    assert (response.json()["granted"], response.json()["gpc"]) == (["necessary"], True)


def test_gpc_writes_no_cookie_and_no_id_on_the_first_response() -> None:
    response = client(small_policy("mode: opt-out\n")).get("/consent", headers=GPC)
    data = response.json()
    assert (data["decided"], data["gpc"], data["consent_id"]) == (False, True, None)
    assert set_cookie_names(response) == []


def test_an_explicit_choice_after_gpc_wins_and_is_stored() -> None:
    test_client = client(small_policy("mode: opt-out\n"))
    response = test_client.post("/consent", json={"action": "accept_all"}, headers=GPC)
    assert response.json()["granted"] == ["necessary", "analytics", "advertisement"]
    assert response.json()["gpc"] is False  # the choice, not the signal, decides now
    assert "consent" in set_cookie_names(response)
    assert set_cookie_names(test_client.get("/", headers=GPC)) == ["sid", "_ga", "_fbp"]


def test_gpc_false_ignores_the_signal_in_every_mode() -> None:
    policy = small_policy("mode: opt-out\ngpc: false\n")
    assert set_cookie_names(client(policy).get("/", headers=GPC)) == ["sid", "_ga", "_fbp"]


@pytest.mark.parametrize(
    ("settings", "key", "message"),
    [
        ("gpc_refuses: [necessary]\n", "gpc_refuses[0]", "required"),
        ("gpc_refuses: [marketing]\n", "gpc_refuses[0]", "not declared"),
        ('gpc_last_update: "2026-13-01"\n', "gpc_last_update", "YYYY-MM-DD"),
        ("gpc_last_update: 2026-11-01\n", "gpc_last_update", "quotes"),
    ],
)
def test_bad_gpc_settings_are_refused(settings: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        small_policy(settings)
    assert (caught.value.key, caught.value.line) == (key, 1)
    assert message in caught.value.message


# -- /.well-known/gpc.json -------------------------------------------------------------


def test_well_known_gpc_json() -> None:
    response = client(small_policy()).get("/.well-known/gpc.json")
    assert response.status_code == 200
    assert response.json() == {"gpc": True}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "public, max-age=86400"
    assert set_cookie_names(response) == []  # answered by the middleware, not the app


def test_well_known_gpc_json_carries_the_last_update() -> None:
    policy = small_policy('gpc_last_update: "2026-11-01"\n')
    response = client(policy).get("/.well-known/gpc.json", headers=GPC)
    assert response.json() == {"gpc": True, "lastUpdate": "2026-11-01"}


def test_well_known_gpc_json_head_and_other_methods() -> None:
    test_client = client(small_policy())
    head = test_client.head("/.well-known/gpc.json")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(b'{"gpc": true}'))
    post = test_client.post("/.well-known/gpc.json")
    assert (post.status_code, post.headers["allow"]) == (405, "GET, HEAD")


def test_well_known_gpc_json_is_the_apps_when_gpc_is_off() -> None:
    response = client(small_policy("gpc: false\n")).get("/.well-known/gpc.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")  # cookie_app answered


# -- in the banner -------------------------------------------------------------------

GPC_NOTICE = "Your browser’s privacy signal was applied."


def test_the_banner_says_the_signal_was_applied() -> None:
    page = banner_client(html_app())
    assert GPC_NOTICE in page.get("/", headers=GPC).text
    assert GPC_NOTICE not in page.get("/").text
    french = page.get("/", headers={**GPC, "accept-language": "fr"}).text
    assert "Le signal de confidentialité de votre navigateur a été appliqué." in french


def test_the_banner_notice_can_be_reworded() -> None:
    policy = policy_with("banner:\n  texts:\n    en:\n      gpc_applied: GPC honoured.\n")
    assert "GPC honoured." in banner_client(html_app(), policy).get("/", headers=GPC).text
