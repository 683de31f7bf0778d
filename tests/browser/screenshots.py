"""Regenerate the screenshots in docs/img (``make screenshots``): the banner of the
example shop, and report.html of a ``consent scan`` of the test shop."""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import FloatRect

from consent.discovery.scan_cli import add_scan_command, playwright_crawl, run_scan
from tests.discovery_site import POLICY, discovery_sites

from .server import chromium, serve_example

OUT = Path(__file__).resolve().parents[2] / "docs" / "img"


def banner() -> list[Path]:
    paths = [OUT / "banner-first-layer.png", OUT / "banner-preferences.png"]
    with serve_example() as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 860})
        page.emulate_media(reduced_motion="reduce")
        page.goto(base + "/")
        page.get_by_role("dialog", name="We value your privacy").wait_for()
        page.screenshot(path=paths[0])
        page.get_by_role("button", name="Customise").click()
        page.get_by_role("dialog", name="Customise Consent Preferences").wait_for()
        page.locator("#consent-preferences summary").first.click()
        page.screenshot(path=paths[1])
    return paths


def scan_report() -> list[Path]:
    """``consent scan`` of the test shop (tests/discovery_site.py: a planted tracker, a
    third-party frame), then the top of its report.html."""
    path = OUT / "scan-report.png"
    parser = argparse.ArgumentParser(prog="consent")
    add_scan_command(parser.add_subparsers(dest="command", required=True))
    with tempfile.TemporaryDirectory() as directory, discovery_sites() as sites:
        folder = Path(directory)
        (folder / "consent.yaml").write_text(POLICY)
        args = parser.parse_args(["scan", sites.shop + "/", "--config", "consent.yaml"])
        crawler = functools.partial(playwright_crawl, extra_args=sites.chromium_args)
        with contextlib.chdir(folder):  # the report names consent.yaml as a project would
            status = run_scan(args, crawler=crawler, out=io.StringIO(), err=io.StringIO())
        if status not in (0, 1):
            raise RuntimeError(f"consent scan of the test shop exited {status}")
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.emulate_media(color_scheme="light")
            page.goto((folder / "consent-scan" / "report.html").as_uri())
            # The top: the verdict, the counts, the first page as a visitor saw it, and
            # the first list of findings (the whole page is three times as long).
            first_list = page.locator("ul.findings").first.bounding_box()
            if first_list is None:
                raise RuntimeError("report.html lists no findings")
            height = first_list["y"] + first_list["height"] + 16
            clip: FloatRect = {"x": 0, "y": 0, "width": 1200, "height": height}
            page.screenshot(path=path, full_page=True, clip=clip)
    return [path]


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    written = banner() + scan_report()
    print("wrote " + ", ".join(str(path) for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
