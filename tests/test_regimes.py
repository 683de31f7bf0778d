"""Regimes: opt-in, opt-out and notice, per region from a trusted geo header, with GPC."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from consent import ConfigError, ConsentMiddleware, Policy, get_consent

from .banner_support import client as banner_client
from .banner_support import html_app, policy_with
from .conftest import (
    EPOCH,
    KEY,
    call_sync,
    choose,
    http_scope,
    set_cookie_names,
    set_cookies,
    small_policy,
    with_consent,
)

REGIONAL = """\
mode: opt-in
geo_header: CF-IPCountry
regions:
  US: notice
  US-CA: opt-out
  BR: opt-out
"""
EVERYTHING = ["advertisement", "analytics", "necessary"]
NOT_ADS = ["analytics", "necessary"]
NECESSARY = ["necessary"]


async def state_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Sets one cookie per category and answers with the state it saw, as JSON."""
    request = Request(scope, receive)
    state = get_consent(request)
    body = {
        "decided": state.decided,
        "granted": sorted(state.granted),
        "mode": state.mode,
        "region": state.region,
        "gpc": state.gpc,
        "cookie": request.headers.get("cookie", ""),
    }
    response = PlainTextResponse(json.dumps(body))
    for name in ("sid", "_ga", "_fbp"):
        response.set_cookie(name, "1")
    await response(scope, receive, send)


def client(policy: Policy) -> TestClient:
    return TestClient(ConsentMiddleware(state_app, policy=policy, secret_keys=[KEY]))


def visit(test_client: TestClient, headers: dict[str, str]) -> tuple[dict[str, object], list[str]]:
    response = test_client.get("/", headers=headers)
    assert response.status_code == 200
    return response.json(), set_cookie_names(response)


# Every combination whose outcome differs: (headers, mode, region, granted = cookies set).
MATRIX: Sequence[tuple[dict[str, str], str, str | None, list[str], bool]] = [
    ({}, "opt-in", None, NECESSARY, False),
    ({"sec-gpc": "1"}, "opt-in", None, NECESSARY, True),
    ({"cf-ipcountry": "FR"}, "opt-in", "FR", NECESSARY, False),
    ({"cf-ipcountry": "FR", "sec-gpc": "1"}, "opt-in", "FR", NECESSARY, True),
    ({"cf-ipcountry": "US"}, "notice", "US", EVERYTHING, False),
    ({"cf-ipcountry": "US", "sec-gpc": "1"}, "notice", "US", NOT_ADS, True),
    ({"cf-ipcountry": "US-CA"}, "opt-out", "US-CA", EVERYTHING, False),
    ({"cf-ipcountry": "US-CA", "sec-gpc": "1"}, "opt-out", "US-CA", NOT_ADS, True),
    ({"cf-ipcountry": "US-TX"}, "notice", "US-TX", EVERYTHING, False),  # falls back to US
    ({"cf-ipcountry": "BR"}, "opt-out", "BR", EVERYTHING, False),
    ({"cf-ipcountry": "BR", "sec-gpc": "1"}, "opt-out", "BR", NOT_ADS, True),
    ({"cf-ipcountry": " us-ca "}, "opt-out", "US-CA", EVERYTHING, False),  # normalised
    ({"cf-ipcountry": "US-CA", "sec-gpc": "0"}, "opt-out", "US-CA", EVERYTHING, False),
]


@pytest.mark.parametrize(("headers", "mode", "region", "granted", "gpc"), MATRIX)
def test_regime_and_gpc_matrix_for_an_undecided_visitor(
    headers: dict[str, str], mode: str, region: str | None, granted: list[str], gpc: bool
) -> None:
    state, cookies = visit(client(small_policy(REGIONAL)), headers)
    assert state == {
        "decided": False,
        "granted": granted,
        "mode": mode,
        "region": region,
        "gpc": gpc,
        "cookie": "",
    }
    by_category = {"necessary": "sid", "analytics": "_ga", "advertisement": "_fbp"}
    assert sorted(cookies) == sorted(by_category[name] for name in granted)
    assert "consent" not in cookies  # no choice, no consent cookie, in every regime


@pytest.mark.parametrize("value", ["XX", "T1", "", "ZZ", "U$", "USA", "United States", "x" * 40])
def test_unknown_or_malformed_geo_values_fall_back_to_the_default_mode(value: str) -> None:
    state, cookies = visit(client(small_policy(REGIONAL)), {"cf-ipcountry": value})
    assert (state["mode"], state["region"], cookies) == ("opt-in", None, ["sid"])


def test_a_malformed_subdivision_keeps_the_country() -> None:
    state, _ = visit(client(small_policy(REGIONAL)), {"cf-ipcountry": "US-TOOLONG"})
    assert (state["mode"], state["region"]) == ("notice", "US")


def test_the_geo_header_is_ignored_unless_configured() -> None:
    untrusted = small_policy("mode: opt-in\n")
    state, cookies = visit(client(untrusted), {"cf-ipcountry": "US-CA", "x-country": "US"})
    assert (state["mode"], state["region"], cookies) == ("opt-in", None, ["sid"])


def test_only_the_named_header_is_trusted() -> None:
    policy = small_policy("geo_header: X-Country\nregions:\n  US: opt-out\n")
    state, _ = visit(client(policy), {"cf-ipcountry": "US"})
    assert (state["mode"], state["region"]) == ("opt-in", None)
    state, _ = visit(client(policy), {"x-country": "US"})
    assert (state["mode"], state["region"]) == ("opt-out", "US")


def test_a_global_mode_applies_without_any_header() -> None:
    state, cookies = visit(client(small_policy("mode: notice\n")), {})
    assert (state["mode"], state["granted"], len(cookies)) == ("notice", EVERYTHING, 3)


def test_a_second_header_carries_the_subdivision() -> None:
    policy = small_policy(
        "geo_header: CloudFront-Viewer-Country\n"
        "geo_subdivision_header: CloudFront-Viewer-Country-Region\n"
        "regions:\n  US: notice\n  US-CA: opt-out\n"
    )
    country = "cloudfront-viewer-country"
    california = {country: "US", "cloudfront-viewer-country-region": "CA"}
    texas = {country: "US", "cloudfront-viewer-country-region": "TX"}
    assert visit(client(policy), california)[0]["mode"] == "opt-out"
    assert visit(client(policy), texas)[0]["region"] == "US-TX"
    assert visit(client(policy), texas)[0]["mode"] == "notice"
    # The subdivision header alone is no region.
    assert visit(client(policy), {"cloudfront-viewer-country-region": "CA"})[0]["mode"] == "opt-in"


def test_opt_out_lets_optional_request_cookies_reach_the_app() -> None:
    response = client(small_policy(REGIONAL)).get(
        "/", headers={"cf-ipcountry": "US-CA", "cookie": "sid=1; _ga=2; _fbp=3"}
    )
    assert response.json()["cookie"] == "sid=1; _ga=2; _fbp=3"
    assert not any(EPOCH in value for value in set_cookies(response))


def test_gpc_in_opt_out_strips_and_expires_advertisement_cookies() -> None:
    response = client(small_policy(REGIONAL)).get(
        "/", headers={"cf-ipcountry": "US-CA", "sec-gpc": "1", "cookie": "sid=1; _ga=2; _fbp=3"}
    )
    assert response.json()["cookie"] == "sid=1; _ga=2"
    expiries = [value for value in set_cookies(response) if EPOCH in value]
    assert [value.split("=")[0] for value in expiries] == ["_fbp"]


def test_a_choice_wins_over_the_regime_and_keeps_its_region() -> None:
    test_client = client(small_policy(REGIONAL))
    california = {"cf-ipcountry": "US-CA"}
    response = test_client.post("/consent", json={"action": "reject_all"}, headers=california)
    token = response.cookies["consent"]
    test_client.cookies.clear()
    state, cookies = visit(test_client, {**california, **with_consent(token)})
    assert (state["decided"], state["granted"], cookies) == (True, NECESSARY, ["sid"])
    assert (state["mode"], state["region"]) == ("opt-out", "US-CA")
    # The same choice seen from another region.
    state, _ = visit(test_client, {"cf-ipcountry": "FR", **with_consent(token)})
    assert (state["decided"], state["mode"], state["region"]) == (True, "opt-in", "FR")


def test_an_explicit_acceptance_wins_over_gpc_in_every_regime() -> None:
    test_client = client(small_policy(REGIONAL))
    token = choose(test_client)
    for country in ("FR", "US", "US-CA"):
        headers = {"cf-ipcountry": country, "sec-gpc": "1", **with_consent(token)}
        state, cookies = visit(test_client, headers)
        assert (state["granted"], state["gpc"], len(cookies)) == (EVERYTHING, False, 3)


def test_get_consent_reports_mode_and_region() -> None:
    data = client(small_policy(REGIONAL)).get("/consent", headers={"cf-ipcountry": "US-CA"}).json()
    assert (data["mode"], data["region"], data["decided"]) == ("opt-out", "US-CA", False)
    assert data["granted"] == ["necessary", "analytics", "advertisement"]
    assert data["opt_out"] == {
        "text": "Do not sell or share my personal information",
        "action": "opt_out",
        "categories": ["advertisement"],
    }


# -- "Do not sell or share" ----------------------------------------------------------


def test_opt_out_action_refuses_the_opt_out_categories_only() -> None:
    test_client = client(small_policy(REGIONAL))
    response = test_client.post(
        "/consent", json={"action": "opt_out"}, headers={"cf-ipcountry": "US-CA"}
    )
    assert response.status_code == 200
    assert response.json()["granted"] == ["necessary", "analytics"]
    assert response.json()["decided"] is True
    assert (response.json()["mode"], response.json()["region"]) == ("opt-out", "US-CA")
    assert "consent" in set_cookie_names(response)


def test_opt_out_action_keeps_earlier_refusals() -> None:
    test_client = client(small_policy(REGIONAL))
    token = choose(test_client, {"granted": ["advertisement"]})
    response = test_client.post("/consent", json={"action": "opt_out"}, headers=with_consent(token))
    assert response.json()["granted"] == ["necessary"]


def test_opt_out_works_as_a_form_without_javascript() -> None:
    test_client = client(small_policy(REGIONAL))
    response = test_client.post(
        "/consent",
        data={"action": "opt_out", "next": "/privacy"},
        headers={"cf-ipcountry": "US-CA"},
        follow_redirects=False,
    )
    assert (response.status_code, response.headers["location"]) == (303, "/privacy")
    assert "consent" in set_cookie_names(response)


def test_opt_out_cannot_be_combined_with_granted() -> None:
    response = client(small_policy(REGIONAL)).post(
        "/consent", json={"action": "opt_out", "granted": ["analytics"]}
    )
    assert response.status_code == 422
    assert "opt_out" in response.json()["error"]


def test_opt_out_categories_and_wording_are_configurable() -> None:
    policy = small_policy(
        "mode: opt-out\nopt_out:\n  text: Do Not Sell My Info\n  categories: [analytics]\n"
    )
    data = client(policy).post("/consent", json={"action": "opt_out"}).json()
    assert data["granted"] == ["necessary", "advertisement"]
    assert data["opt_out"]["text"] == "Do Not Sell My Info"


# -- the policy file ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "line", "key", "message"),
    [
        ("geo_header: CF-IPCountry\nregions:\n  UK: opt-out\n", 3, "regions.UK", "'GB'"),
        ("geo_header: CF-IPCountry\nregions:\n  us: opt-out\n", 3, "regions.us", "capitals"),
        ("geo_header: CF-IPCountry\nregions:\n  US-XX: notice\n", 3, "regions.US-XX", "US"),
        ("geo_header: CF-IPCountry\nregions:\n  QQ: notice\n", 3, "regions.QQ", "ISO 3166-1"),
        ("geo_header: CF-IPCountry\nregions:\n  FR: opt_out\n", 3, "regions.FR", "opt-out"),
        ("regions:\n  FR: notice\n", 1, "regions", "geo_header"),
        ("geo_subdivision_header: X-Region\n", 1, "geo_subdivision_header", "geo_header"),
        ("geo_header: CF IPCountry\n", 1, "geo_header", "header name"),
        ("mode: opt_in\n", 1, "mode", "opt-in"),
        ("opt_out:\n  categories: [necessary]\n", 2, "opt_out.categories[0]", "required"),
        ("opt_out:\n  categories: [ads]\n", 2, "opt_out.categories[0]", "not declared"),
        ("opt_out:\n  link: /x\n", 2, "opt_out.link", "keys allowed here: text, categories"),
    ],
)
def test_bad_regime_settings_are_refused_with_their_line(
    settings: str, line: int, key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        small_policy(settings)
    assert (caught.value.line, caught.value.key) == (line, key)
    assert message in caught.value.message


def test_opt_out_mode_needs_a_category_to_refuse() -> None:
    no_ads = "  necessary:\n    title: Necessary\n    required: true\n"
    with pytest.raises(ConfigError, match="'advertisement'") as caught:
        small_policy("mode: opt-out\n", categories=no_ads + "  analytics:\n    title: A\n")
    assert caught.value.key == "opt_out"
    # Naming one works.
    small_policy(
        "mode: opt-out\nopt_out:\n  categories: [analytics]\n",
        categories=no_ads + "  analytics:\n    title: A\n",
    )


def test_region_codes_are_checked_against_iso_3166() -> None:
    accepted = small_policy(
        "geo_header: CF-IPCountry\nregions:\n  GB: opt-in\n  ES-CT: notice\n  XK: notice\n"
    )
    assert accepted.config.regions == {"GB": "opt-in", "ES-CT": "notice", "XK": "notice"}
    assert accepted.config.geo_header == "cf-ipcountry"  # as ASGI servers spell it


def test_a_decided_visitor_seen_from_many_regions() -> None:
    test_client = client(small_policy(REGIONAL))
    token = choose(test_client, {"granted": ["analytics"]})
    countries = ["FR", "FR", "DE", "IT", "ES", "PT", "NL", "BE", "AT", "PL", "SE", "US-CA", "FR"]
    for country in countries:
        state, cookies = visit(test_client, {"cf-ipcountry": country, **with_consent(token)})
        assert (state["region"], state["granted"], cookies) == (country, NOT_ADS, ["sid", "_ga"])


def test_many_distinct_geo_values_keep_resolving_correctly() -> None:
    # Header values are client-chosen when the site is reached without its CDN: the
    # caches behind the look-up are bounded, and stay right after they overflow.
    middleware = ConsentMiddleware(state_app, policy=small_policy(REGIONAL), secret_keys=[KEY])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    values = [f"BR-{a}{b}{c}" for a in alphabet[:4] for b in alphabet for c in alphabet][:4200]
    for value in [*values, "US", "US-CA", "us"]:
        messages = call_sync(middleware, http_scope(headers=[(b"cf-ipcountry", value.encode())]))
        body = json.loads(messages[1]["body"])
        region = value.upper()
        assert (body["mode"], body["region"]) == ("notice" if region == "US" else "opt-out", region)


def test_an_empty_subdivision_header_keeps_the_country() -> None:
    policy = small_policy(
        "geo_header: X-Country\ngeo_subdivision_header: X-Region\nregions:\n  US-CA: opt-out\n"
    )
    state, _ = visit(client(policy), {"x-country": "US", "x-region": " "})
    assert (state["mode"], state["region"]) == ("opt-in", "US")


def test_an_outdated_choice_is_undecided_under_the_regime_and_keeps_its_id() -> None:
    token = choose(client(small_policy("revision: 1\n" + REGIONAL)))
    bumped = client(small_policy("revision: 2\n" + REGIONAL))
    for _ in range(2):  # the second time from the cache
        response = bumped.get("/consent", headers={"cf-ipcountry": "US-CA", **with_consent(token)})
        data = response.json()
        assert (data["decided"], data["mode"], sorted(data["granted"])) == (
            False,
            "opt-out",
            EVERYTHING,
        )
        assert data["consent_id"] is not None
    headers = {"cf-ipcountry": "US-CA", "sec-gpc": "1", **with_consent(token)}
    data = bumped.get("/consent", headers=headers).json()
    assert (data["decided"], data["gpc"], sorted(data["granted"])) == (False, True, NOT_ADS)


def test_the_regime_decides_the_content_security_policy_too() -> None:
    policy = small_policy(
        REGIONAL + "csp: {enabled: true, directives: [script-src]}\n",
        categories=(
            "  necessary: {title: Necessary, required: true}\n"
            "  analytics: {title: Analytics, hosts: [stats.example]}\n"
            "  advertisement: {title: Advertisement, hosts: [ads.example]}\n"
        ),
    )

    async def page(scope: Scope, receive: Receive, send: Send) -> None:
        await HTMLResponse("<!doctype html><title>shop</title>")(scope, receive, send)

    test_client = TestClient(ConsentMiddleware(page, policy=policy, secret_keys=[KEY]))

    def hosts(headers: dict[str, str]) -> list[str]:
        header = test_client.get("/", headers=headers).headers["content-security-policy"]
        return [source for source in header.split()[1:] if not source.startswith("'")]

    assert hosts({"cf-ipcountry": "FR"}) == []
    assert hosts({"cf-ipcountry": "US-CA"}) == ["stats.example", "ads.example"]
    assert hosts({"cf-ipcountry": "US-CA", "sec-gpc": "1"}) == ["stats.example"]


def test_the_banner_offers_do_not_sell_or_share_in_opt_out_regions() -> None:
    policy = policy_with("geo_header: CF-IPCountry\nregions:\n  US-CA: opt-out\n  US: notice\n")
    page = banner_client(html_app(), policy)
    button = 'value="opt_out">Do not sell or share my personal information</button>'
    assert button in page.get("/", headers={"cf-ipcountry": "US-CA"}).text
    assert button not in page.get("/", headers={"cf-ipcountry": "US"}).text
    assert button not in page.get("/", headers={"cf-ipcountry": "FR"}).text
