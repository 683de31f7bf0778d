"""The banner with JavaScript: choices apply without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route, expect

from .helpers import CONSENT, OPTIONAL, REQUIRED, choose, cookie_names

pytestmark = pytest.mark.browser


def test_no_optional_cookie_before_a_choice(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("dialog", name="We value your privacy")).to_be_visible()
    assert cookie_names(page.context) == REQUIRED
    expect(page.locator("#analytics-status")).to_have_text("Analytics is not running.")
    expect(page.locator("#map")).not_to_have_attribute("src", "/embed/map")


def test_reject_all_sets_no_optional_cookie(page: Page) -> None:
    page.goto("/")
    assert choose(page, "Reject all").ok
    expect(page.locator("#consent-banner")).to_be_hidden()
    expect(page.get_by_role("button", name="Cookie settings").first).to_be_visible()
    page.reload()
    assert cookie_names(page.context) == REQUIRED | {CONSENT}
    expect(page.locator("#analytics-status")).to_have_text("Analytics is not running.")


def test_accept_all_runs_gated_content_once_without_reload(page: Page) -> None:
    page.goto("/")
    page.evaluate("window.sameDocument = true")
    choose(page, "Accept all")
    expect(page.locator("#analytics-status")).to_have_text("Analytics is running (1)")
    expect(page.frame_locator("#map").locator("body")).to_contain_text("Workshop map")
    assert page.evaluate("window.sameDocument") is True
    # Choosing again must not run the script a second time.
    page.locator("#consent-settings").click()
    choose(page, "Save my preferences")
    assert page.evaluate("window.analyticsRuns") == 1
    page.reload()
    assert cookie_names(page.context) == REQUIRED | OPTIONAL | {CONSENT}
    expect(page.locator("#analytics-status")).to_have_text("Analytics is running (1)")


def test_customise_analytics_only(page: Page) -> None:
    page.goto("/")
    page.get_by_role("button", name="Customise").click()
    centre = page.get_by_role("dialog", name="Customise Consent Preferences")
    expect(centre).to_be_visible()
    expect(centre.get_by_text("Always active")).to_be_visible()
    expect(centre.get_by_role("switch")).to_have_count(4)
    for switch in centre.get_by_role("switch").all():
        expect(switch).not_to_be_checked()
    centre.get_by_role("switch", name="Analytics").check()
    choose(page, "Save my preferences")
    expect(centre).to_be_hidden()
    expect(page.locator("#analytics-status")).to_have_text("Analytics is running (1)")
    expect(page.locator("#map")).not_to_have_attribute("src", "/embed/map")
    page.reload()
    assert cookie_names(page.context) == REQUIRED | {"_ga", CONSENT}


def test_reopen_settings_and_withdraw(page: Page) -> None:
    page.goto("/")
    choose(page, "Accept all")
    page.reload()
    assert {"_ga", "_fbp"} <= cookie_names(page.context)
    page.locator("#consent-settings").click()
    centre = page.get_by_role("dialog", name="Customise Consent Preferences")
    expect(centre.get_by_role("switch", name="Analytics")).to_be_checked()
    centre.get_by_role("switch", name="Analytics").uncheck()
    centre.get_by_role("switch", name="Advertisement").uncheck()
    choose(page, "Save my preferences")
    expect(centre).to_be_hidden()  # the response was read and applied
    # The middleware expired them on the POST response itself: no reload needed.
    assert cookie_names(page.context) == REQUIRED | {"lang", "_hjSessionUser_1", CONSENT}


def test_footer_link_opens_the_centre(page: Page) -> None:
    page.goto("/")
    choose(page, "Reject all")
    page.locator("footer").get_by_role("button", name="Cookie settings").click()
    expect(page.get_by_role("dialog", name="Customise Consent Preferences")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Customise Consent Preferences")).to_be_hidden()
    expect(page.locator("footer a")).to_be_focused()


def test_consent_mode_default_then_update(page: Page) -> None:
    page.goto("/")
    commands = "() => window.dataLayer.map(a => Array.from(a))"
    [default] = page.evaluate(commands)
    assert default[:2] == ["consent", "default"]
    assert default[2]["analytics_storage"] == "denied"
    assert default[2]["security_storage"] == "granted"
    page.get_by_role("button", name="Customise").click()
    page.get_by_role("switch", name="Analytics").check()
    choose(page, "Save my preferences")
    # The script pushes the update once it has read the response, after the response
    # event `choose` waits for: wait for the push itself.
    page.wait_for_function("() => window.dataLayer.some(a => a[1] === 'update')")
    update = page.evaluate(commands)[-1]
    assert update[:2] == ["consent", "update"]
    assert update[2]["analytics_storage"] == "granted"
    assert update[2]["ad_storage"] == "denied"


def test_gated_script_keeps_the_csp_nonce(page: Page) -> None:
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Security Policy" in m.text else None)
    response = page.goto("/")
    assert response is not None
    assert "'nonce-" in response.headers["content-security-policy"]
    choose(page, "Accept all")
    expect(page.locator("#analytics-status")).to_have_text("Analytics is running (1)")
    assert violations == []


def test_failed_fetch_falls_back_to_the_form(page: Page) -> None:
    def only_forms(route: Route) -> None:
        if "json" in (route.request.headers.get("content-type") or ""):
            route.abort()
        else:
            route.continue_()

    page.route("**/consent", only_forms)
    page.goto("/")
    page.get_by_role("button", name="Accept all").click()
    expect(page.locator("#status strong")).to_have_text("decided")
    assert cookie_names(page.context) == REQUIRED | OPTIONAL | {CONSENT}


def test_centre_is_fetched_only_when_opened(page: Page) -> None:
    page.goto("/")
    expect(page.locator("#consent-banner")).to_be_visible()
    expect(page.locator("#consent-preferences")).to_have_count(0)
    with page.expect_response(lambda r: "/consent/preferences?" in r.url) as info:
        page.get_by_role("button", name="Customise").click()
    assert "fragment=1" in info.value.url
    assert info.value.headers["cache-control"] == "no-store"
    centre = page.get_by_role("dialog", name="Customise Consent Preferences")
    expect(centre).to_be_focused()
    page.keyboard.press("Escape")
    expect(centre).to_be_hidden()
    # Reopening uses the centre already in the page, with the current choices.
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "fragment=1" in r.url else None)
    page.get_by_role("button", name="Customise").click()
    expect(centre).to_be_visible()
    assert fetched == []
    expect(page.locator("#consent-preferences")).to_have_count(1)


def test_failed_centre_fetch_opens_the_preferences_page(page: Page) -> None:
    page.route("**/consent/preferences?*fragment=1*", lambda route: route.abort())
    page.goto("/")
    page.get_by_role("button", name="Customise").click()
    expect(page).to_have_url("/consent/preferences?next=%2F")
    expect(page.get_by_role("heading", level=1)).to_have_text("Customise Consent Preferences")
