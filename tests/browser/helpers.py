from __future__ import annotations

from playwright.sync_api import BrowserContext, Locator, Page, Response

OPTIONAL = {"lang", "_ga", "_hjSessionUser_1", "_fbp"}  # one per optional category
REQUIRED = {"sid"}
CONSENT = "consent"


def cookie_names(context: BrowserContext) -> set[str]:
    """Every cookie of the context, HttpOnly ones included."""
    return {cookie["name"] for cookie in context.cookies()}


def choose(page: Page, button: str, *, within: str = "#consent-root") -> Response:
    """Click a banner button and wait for the consent POST it sends."""
    with page.expect_response(
        lambda r: r.url.endswith("/consent") and r.request.method == "POST"
    ) as info:
        page.locator(within).get_by_role("button", name=button, exact=True).click()
    return info.value


def tab_to(page: Page, target: Locator, limit: int = 30) -> None:
    """Press Tab until ``target`` has the focus (and fail if it never does)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")
