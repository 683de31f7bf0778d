"""Google Consent Mode v2: the default command in the first bytes, from state and GPC."""

from __future__ import annotations

import json
import re

from .banner_support import client, html_app, policy_with

ON = "banner:\n  consent_mode:\n    enabled: true\n"


def default_of(text: str) -> dict[str, object]:
    match = re.search(r"gtag\('consent','default',(\{.*?\})\);", text)
    assert match is not None
    result: dict[str, object] = json.loads(match.group(1))
    return result


def test_default_right_after_head_and_denied_before_a_choice() -> None:
    text = client(html_app(), policy_with(ON)).get("/").text
    assert text.startswith("<!doctype html><html><head><script>window.dataLayer=")
    values = default_of(text)
    assert values["analytics_storage"] == "denied"
    assert values["ad_user_data"] == "denied"
    assert values["security_storage"] == "granted"
    assert values["wait_for_update"] == 500
    assert '"analytics":["analytics_storage"]' in text.replace("&#34;", '"')


def test_default_follows_the_choice_and_gpc() -> None:
    c = client(html_app(), policy_with(ON))
    gpc = default_of(c.get("/", headers={"sec-gpc": "1"}).text)
    assert gpc["ad_storage"] == "denied"
    c.post("/consent", json={"granted": ["analytics"]})
    values = default_of(c.get("/", headers={"sec-gpc": "1"}).text)
    assert values["analytics_storage"] == "granted"
    assert values["ad_storage"] == "denied"
    assert "wait_for_update" not in values


def test_off_by_default_and_nonce_from_csp() -> None:
    assert "gtag(" not in client(html_app()).get("/").text
    csp = {"content-security-policy": "script-src 'nonce-r4nd0m'"}
    text = client(html_app(headers=csp), policy_with(ON)).get("/").text
    assert text.startswith('<!doctype html><html><head><script nonce="r4nd0m">')


def test_custom_mapping() -> None:
    policy = policy_with(ON + "    mapping:\n      analytics: [analytics_storage, ad_storage]\n")
    c = client(html_app(), policy)
    c.post("/consent", json={"granted": ["analytics"]})
    values = default_of(c.get("/").text)
    assert values["ad_storage"] == "granted"
    assert values["security_storage"] == "denied"  # "necessary" is no longer mapped
