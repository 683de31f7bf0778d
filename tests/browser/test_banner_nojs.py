"""The same flows with JavaScript disabled: plain forms, 303 back to the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .helpers import CONSENT, OPTIONAL, REQUIRED, cookie_names

pytestmark = pytest.mark.browser


def decided(page: Page) -> None:
    expect(page.locator("#status strong")).to_have_text("decided")
    expect(page).to_have_url("/")


def test_no_optional_cookie_then_reject_all(nojs_page: Page) -> None:
    nojs_page.goto("/")
    assert cookie_names(nojs_page.context) == REQUIRED
    nojs_page.get_by_role("button", name="Reject all").click()
    decided(nojs_page)
    assert cookie_names(nojs_page.context) == REQUIRED | {CONSENT}
    expect(nojs_page.locator("#consent-banner")).to_have_count(0)
    expect(nojs_page.locator("#consent-settings")).to_be_visible()


def test_accept_all(nojs_page: Page) -> None:
    nojs_page.goto("/")
    nojs_page.get_by_role("button", name="Accept all").click()
    decided(nojs_page)
    assert cookie_names(nojs_page.context) == REQUIRED | OPTIONAL | {CONSENT}
    # Gated content needs JavaScript: without it, nothing third-party runs.
    expect(nojs_page.locator("#analytics-status")).to_have_text("Analytics is not running.")


def test_customise_analytics_only_then_withdraw(nojs_page: Page) -> None:
    nojs_page.goto("/")
    nojs_page.get_by_role("link", name="Customise").click()
    expect(nojs_page).to_have_url("/consent/preferences?next=%2F")
    expect(nojs_page.get_by_text("Always active")).to_be_visible()
    nojs_page.get_by_role("switch", name="Analytics").check()
    nojs_page.get_by_role("button", name="Save my preferences").click()
    decided(nojs_page)
    assert cookie_names(nojs_page.context) == REQUIRED | {"_ga", CONSENT}

    nojs_page.locator("#consent-settings").click()
    expect(nojs_page.get_by_role("switch", name="Analytics")).to_be_checked()
    nojs_page.get_by_role("switch", name="Analytics").uncheck()
    nojs_page.get_by_role("button", name="Save my preferences").click()
    decided(nojs_page)
    assert cookie_names(nojs_page.context) == REQUIRED | {CONSENT}


def test_customise_and_settings_stay_plain_links(nojs_page: Page) -> None:
    """The script makes them buttons; without it they are links to the preferences page."""
    plain = "el => [el.getAttribute('role'), el.getAttribute('aria-haspopup')]"
    nojs_page.goto("/")
    expect(nojs_page.get_by_role("button", name="Customise")).to_have_count(0)
    customise = nojs_page.get_by_role("link", name="Customise")
    assert customise.evaluate(plain) == [None, None]
    customise.click()
    expect(nojs_page).to_have_url("/consent/preferences?next=%2F")
    expect(nojs_page.get_by_role("heading", level=1)).to_have_text("Customise Consent Preferences")
    nojs_page.get_by_role("button", name="Reject all").click()
    decided(nojs_page)
    expect(nojs_page.get_by_role("button", name="Cookie settings")).to_have_count(0)
    for link in nojs_page.get_by_role("link", name="Cookie settings").all():
        assert link.evaluate(plain) == [None, None]
    nojs_page.locator("#consent-settings").click()
    expect(nojs_page).to_have_url("/consent/preferences?next=%2F")
