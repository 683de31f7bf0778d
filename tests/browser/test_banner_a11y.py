"""Keyboard use, focus handling, axe-core, languages."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from .helpers import CONSENT, REQUIRED, cookie_names, tab_to

pytestmark = pytest.mark.browser


def test_keyboard_only(page: Page) -> None:
    page.goto("/")
    expect(page.locator("#consent-banner")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Privacy policy")).to_be_focused()
    page.keyboard.press("Tab")
    customise = page.get_by_role("button", name="Customise")
    expect(customise).to_be_focused()
    page.keyboard.press("Enter")
    centre = page.get_by_role("dialog", name="Customise Consent Preferences")
    expect(centre).to_be_focused()
    page.keyboard.press("Escape")
    expect(centre).to_be_hidden()
    expect(customise).to_be_focused()

    page.keyboard.press("Enter")
    analytics = centre.get_by_role("switch", name="Analytics")
    tab_to(page, analytics)
    page.keyboard.press("Space")
    expect(analytics).to_be_checked()
    # Focus stays inside the open dialog: Tab past the last button wraps to the first control.
    accept = centre.get_by_role("button", name="Accept all")
    tab_to(page, accept)
    page.keyboard.press("Tab")
    expect(centre.get_by_role("link", name="Close")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(accept).to_be_focused()
    page.keyboard.press("Shift+Tab")
    save = centre.get_by_role("button", name="Save my preferences")
    expect(save).to_be_focused()
    with page.expect_response(lambda r: r.url.endswith("/consent")):
        page.keyboard.press("Enter")
    expect(page.locator("#consent-settings")).to_be_focused()
    page.reload()
    assert cookie_names(page.context) == REQUIRED | {"_ga", CONSENT}


def violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    # Evaluated through DevTools: the page's strict CSP would block an injected <script>.
    page.evaluate(axe_source)
    result: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document)).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))"
    )
    return result


def test_axe_first_layer_and_open_centre(page: Page, axe_source: str) -> None:
    page.emulate_media(reduced_motion="reduce")
    page.goto("/")
    expect(page.locator("#consent-banner")).to_be_visible()
    assert violations(page, axe_source) == []
    page.get_by_role("button", name="Customise").click()
    expect(page.get_by_role("dialog", name="Customise Consent Preferences")).to_be_visible()
    page.locator("#consent-preferences summary").first.click()
    assert violations(page, axe_source) == []


def test_axe_preferences_page(page: Page, axe_source: str) -> None:
    """The page a visitor without JavaScript customises on."""
    page.goto("/consent/preferences?next=/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Customise Consent Preferences")
    assert violations(page, axe_source) == []


def test_french_from_accept_language(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url, locale="fr-FR")
    page = context.new_page()
    page.goto("/")
    banner = page.get_by_role("dialog", name="Nous respectons votre vie privée")
    expect(banner).to_be_visible()
    for name in ("Tout accepter", "Tout refuser"):
        expect(banner.get_by_role("button", name=name)).to_be_visible()
    expect(page.locator("#consent-root")).to_have_attribute("lang", "fr")
    banner.get_by_role("button", name="Personnaliser").click()
    centre = page.get_by_role("dialog", name="Personnaliser vos préférences")
    expect(centre.get_by_text("Toujours actifs")).to_be_visible()
    expect(centre.get_by_role("switch", name="Mesure d’audience")).to_be_visible()
    context.close()
