from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, Response

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
