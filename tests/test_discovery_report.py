"""The reports of a scan (``scan.json``, ``policy-patch.yaml``, ``report.html``) and the
progress line of the crawl."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

from consent.discovery.model import CookieEntry, ScanResult
from consent.discovery.patch import policy_patch
from consent.discovery.progress import Progress
from consent.discovery.report import render_html, write_reports
from tests.test_discovery_findings import POLICY, SITE, scan

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def test_write_reports_writes_the_three_files(tmp_path: Path) -> None:
    result = scan()
    paths = write_reports(result, tmp_path / "out", POLICY, PNG)
    assert [path.name for path in paths] == ["scan.json", "policy-patch.yaml", "report.html"]
    data = json.loads(paths[0].read_text(encoding="utf-8"))
    assert data == result.as_json()
    assert list(data) == [
        "version",
        "site",
        "scanned_at",
        "pages",
        "cookies",
        "storage",
        "third_party_hosts",
        "findings",
    ]
    assert data["version"] == 1
    assert paths[0].read_text(encoding="utf-8").startswith('{\n  "version": 1,\n')
    assert paths[1].read_text(encoding="utf-8") == policy_patch(result, POLICY)


def test_reports_are_the_same_for_the_same_scan(tmp_path: Path) -> None:
    first = write_reports(scan(), tmp_path / "a", POLICY, PNG)
    second = write_reports(scan(), tmp_path / "b", POLICY, PNG)
    for one, other in zip(first, second, strict=True):
        assert one.read_bytes() == other.read_bytes()


def test_the_page_is_self_contained() -> None:
    page = render_html(scan(), POLICY, PNG)
    assert "data:image/png;base64," + base64.b64encode(PNG).decode() in page
    # Nothing is fetched: no stylesheet, script or image from elsewhere, no link out.
    assert not re.search(r"<link|<script[^>]+src=|<img[^>]+src=\"(?!data:)|href=", page)
    assert page.count("<script>") == 1


def test_the_page_summarises_the_scan() -> None:
    page = render_html(scan(), POLICY, None)
    assert "<title>Cookie scan of https://www.example.com/</title>" in page
    assert "against consent.yaml" in page
    assert (
        "Fails: 5 findings of the kinds that fail the scan (before_consent, after_reject)" in page
    )
    assert "<dt>Cookies</dt><dd>10 (1 third-party)</dd>" in page
    assert "<img" not in page  # no screenshot given
    passing = render_html(scan(), POLICY, None, fail_on=())
    assert "Passes: nothing of the kinds that fail the scan (none chosen)" in passing


def test_tables_are_accessible_and_sortable() -> None:
    page = render_html(scan(), POLICY, PNG)
    assert page.count("<caption>") == 3  # cookies, storage, hosts
    headers = re.findall(r"<th scope=\"col\"[^>]*><button type=\"button\">([^<]+)</button>", page)
    assert headers[:11] == [
        "Name",
        "Domain",
        "Party",
        "Set by",
        "Before any choice",
        "After reject all",
        "After accept all",
        "Lifetime",
        "Declared",
        "Match",
        "Source",
    ]
    # Each table is sorted by its first column.
    assert page.count('<th scope="col" aria-sort="ascending">') == 3
    assert '<th scope="row">_hjSessionUser_123</th>' in page
    assert '<span class="visually-hidden">seen</span>' in page
    assert 'setAttribute("aria-sort"' in page


def test_what_the_site_chose_is_escaped() -> None:
    result = scan()
    name = "<script>alert(1)</script>"
    result.cookies.append(CookieEntry(name, "www.example.com", "/", "first", phases=["before"]))
    page = render_html(result, POLICY, b"not a png")
    assert name not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page  # only a PNG is embedded


def test_an_empty_scan_renders() -> None:
    page = render_html(ScanResult(SITE, "2026-05-01T12:00:00+00:00"), None, None)
    assert "without a policy file" in page
    assert "No cookie was seen." in page
    assert "Passes" in page


# -- progress ----------------------------------------------------------------------------------


def test_progress_on_a_terminal_redraws_one_line() -> None:
    stream = io.StringIO()
    with Progress(stream, tty=True, width=70) as progress:
        progress("before", 1, 4, "https://www.example.com/")
        progress("rejected", 1, 2, "https://www.example.com/")
        progress("before", 4, 4, "https://www.example.com/\x1b[2Jabout")
    text = stream.getvalue()
    assert text.endswith("\x1b[K\n")  # one line, ended when the crawl is
    draws = text.removesuffix("\n").split("\r")[1:]
    assert len(draws) == 3
    assert draws[-1].startswith("[################----] before 4/4  rejected 1/2  https://")
    assert "\x1b[2J" not in text  # the site's text cannot drive the terminal
    assert all(len(draw.removesuffix("\x1b[K")) <= 69 for draw in draws)


def test_progress_elsewhere_writes_a_line_per_phase() -> None:
    stream = io.StringIO()
    progress = Progress(stream, tty=False)
    progress("before", 1, 30, "https://www.example.com/")
    progress("accepted", 1, 30, "https://www.example.com/")
    progress("before", 12, 30, "https://www.example.com/a")
    assert stream.getvalue() == ""
    progress("before", 13, 13, "https://www.example.com/b")  # nothing more planned
    progress("rejected", 1, 1, "https://www.example.com/")
    assert stream.getvalue() == "before any choice: 13 pages read\nafter reject all: 1 page read\n"
    progress.close()  # the crawl ended: the phase still running is reported as it is
    progress.close()
    assert stream.getvalue().splitlines()[2:] == ["after accept all: 1 page read"]
