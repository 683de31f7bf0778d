"""Regenerate the banner screenshots in docs/img (``make screenshots``)."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from .server import CHROMIUM, CHROMIUM_ARGS, serve_example

OUT = Path(__file__).resolve().parents[2] / "docs" / "img"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with serve_example() as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 860})
        page.emulate_media(reduced_motion="reduce")
        page.goto(base + "/")
        page.get_by_role("dialog", name="We value your privacy").wait_for()
        page.screenshot(path=OUT / "banner-first-layer.png")
        page.get_by_role("button", name="Customise").click()
        page.get_by_role("dialog", name="Customise Consent Preferences").wait_for()
        page.locator("#consent-preferences summary").first.click()
        page.screenshot(path=OUT / "banner-preferences.png")
        browser.close()
    print(f"wrote {OUT / 'banner-first-layer.png'} and {OUT / 'banner-preferences.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
