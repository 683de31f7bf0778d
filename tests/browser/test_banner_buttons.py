"""Controls that open the preference centre: links without JavaScript, buttons with it.

Customise, the floating "Cookie settings" control and an app's own settings links lead to
the centre's page without JavaScript; the script opens the centre as a dialog instead, so
it exposes them as buttons (``role="button"``, ``aria-haspopup="dialog"``) that Space
presses as well as Enter. Their href stays, for a new tab.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from jinja2 import Environment
from playwright.sync_api import Browser, Locator, Page, expect

from consent import ConsentMiddleware
from consent.banner import install_jinja2

from ..banner_support import KEY, policy_with, request_app
from .helpers import choose, tab_to
from .server import serve

pytestmark = pytest.mark.browser

PREFERENCES = "/consent/preferences?next=%2F"
CENTRE = "Customise Consent Preferences"


def is_opener_button(control: Locator) -> None:
    expect(control).to_have_attribute("role", "button")
    expect(control).to_have_attribute("aria-haspopup", "dialog")
    # The href stays: for a new tab, and for the fallback when the centre cannot be fetched.
    expect(control).to_have_attribute("href", re.compile(r"^/consent/preferences\?next="))


def tall(page: Page) -> None:
    """Make the page scroll, so a Space that reached the page would move it."""
    page.evaluate("document.body.style.minHeight = '400vh'; window.sameDocument = true")


def space_opens_the_centre(page: Page, control: Locator) -> None:
    """Focus ``control`` from the keyboard and press Space: the centre opens, nothing else."""
    tab_to(page, control)
    scrolled = page.evaluate("scrollY")
    page.keyboard.press("Space")
    centre = page.get_by_role("dialog", name=CENTRE)
    expect(centre).to_be_focused()
    assert page.evaluate("scrollY") == scrolled
    assert page.evaluate("window.sameDocument") is True
    expect(page).to_have_url("/")
    page.keyboard.press("Escape")
    expect(centre).to_be_hidden()
    expect(control).to_be_focused()
    assert page.evaluate("scrollY") == scrolled


def test_customise_is_a_button_with_javascript(page: Page) -> None:
    page.goto("/")
    banner = page.get_by_role("dialog", name="We value your privacy")
    customise = banner.get_by_role("button", name="Customise", exact=True)
    is_opener_button(customise)
    expect(banner.get_by_role("link", name="Customise")).to_have_count(0)


def test_space_on_customise_opens_the_centre_without_scrolling(page: Page) -> None:
    page.goto("/")
    tall(page)
    space_opens_the_centre(page, page.get_by_role("button", name="Customise"))


def test_settings_controls_are_buttons(page: Page) -> None:
    page.goto("/")
    choose(page, "Reject all")
    # The floating control (hidden until the choice) and the shop's footer link alike.
    settings = page.get_by_role("button", name="Cookie settings")
    expect(settings).to_have_count(2)
    for control in settings.all():
        is_opener_button(control)
    expect(page.get_by_role("link", name="Cookie settings")).to_have_count(0)
    tall(page)
    space_opens_the_centre(page, page.locator("footer").get_by_role("button"))

    # A decided visitor's page renders the floating control visible from the start.
    page.reload()
    tall(page)
    floating = page.locator("#consent-settings")
    is_opener_button(floating)
    space_opens_the_centre(page, floating)


def test_enter_still_opens_the_centre(page: Page) -> None:
    page.goto("/")
    customise = page.get_by_role("button", name="Customise")
    tab_to(page, customise)
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name=CENTRE)).to_be_focused()
    expect(page).to_have_url("/")


def test_space_counts_only_pressed_and_released_on_the_control(page: Page) -> None:
    """Like a button: Space activates on release, and only if it went down on the control."""
    page.goto("/")
    overlay = page.locator("#consent-overlay")
    customise = page.get_by_role("button", name="Customise")
    # Opened once, the centre is in the page: later presses show it without waiting for
    # a fetch, so "still hidden" below is a real answer, not an early one.
    customise.click()
    expect(page.get_by_role("dialog", name=CENTRE)).to_be_visible()
    page.keyboard.press("Escape")
    expect(customise).to_be_focused()
    page.keyboard.down("Space")
    expect(overlay).to_be_hidden()  # not yet: a button acts on release
    page.keyboard.press("Tab")  # moves on to Reject all, which gets the keyup
    page.keyboard.up("Space")
    expect(page.get_by_role("button", name="Reject all")).to_be_focused()
    expect(overlay).to_be_hidden()

    page.get_by_role("link", name="Privacy policy").focus()
    page.keyboard.down("Space")
    page.keyboard.press("Tab")  # Customise gets only the keyup
    page.keyboard.up("Space")
    expect(customise).to_be_focused()
    expect(overlay).to_be_hidden()


def test_modified_click_opens_the_page_in_a_new_tab(page: Page) -> None:
    page.goto("/")
    with page.context.expect_page() as info:
        page.get_by_role("button", name="Customise").click(modifiers=["ControlOrMeta"])
    tab = info.value
    tab.wait_for_load_state()
    expect(tab).to_have_url(PREFERENCES)
    expect(tab.get_by_role("heading", level=1)).to_have_text(CENTRE)
    expect(page.locator("#consent-overlay")).to_be_hidden()


TEMPLATE = (
    "<!doctype html><html lang=en><head><title>App</title></head><body><main><h1>App</h1>"
    "</main><footer>{{ consent_settings_link(request, css_class='footer-link') }}</footer>"
    "{{ consent_banner(request) }}</body></html>"
)


@pytest.fixture(scope="module")
def helper_app_url() -> Iterator[str]:
    """An app that renders the banner and a footer link itself, with the template helpers."""
    template = install_jinja2(Environment(autoescape=True)).from_string(TEMPLATE)
    app = request_app(lambda request: template.render(request=request))
    with serve(ConsentMiddleware(app, policy=policy_with(), secret_keys=[KEY])) as url:
        yield url


def test_helper_settings_link_is_a_button(browser: Browser, helper_app_url: str) -> None:
    context = browser.new_context(base_url=helper_app_url, locale="en-GB")
    page = context.new_page()
    page.goto("/")
    footer_link = page.locator("footer").get_by_role("button", name="Cookie settings")
    is_opener_button(footer_link)
    expect(footer_link).to_have_class("footer-link")
    tall(page)
    space_opens_the_centre(page, footer_link)
    context.close()
