"""Where the crawl goes (no browser): URLs normalised, path patterns, robots.txt, sitemaps
read safely, and which Chromium the scan finds."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pytest

from consent.discovery import browser, sitemap
from consent.discovery.browser import BrowserNotFound, find_browser, require_browser
from consent.discovery.sitemap import (
    Frontier,
    SitemapError,
    normalise_url,
    parse_sitemap,
    path_pattern,
    sitemaps_in_robots,
)

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("HTTP://Shop.Test:80/a?b=2&a=1#top", "http://shop.test/a?a=1&b=2"),
        ("https://shop.test", "https://shop.test/"),
        ("https://shop.test:443/x", "https://shop.test/x"),
        ("https://shop.test:8443/x", "https://shop.test:8443/x"),
        ("https://user:secret@shop.test/x", "https://shop.test/x"),
        (
            "https://shop.test/p?utm_source=a&id=3&gclid=x&fbclid=y&UTM_Medium=b",
            "https://shop.test/p?id=3",
        ),
        ("https://shop.test/s?q=a%20b&q=c", "https://shop.test/s?q=a%20b&q=c"),  # text kept
        ("https://shop.test/?utm_campaign=x#f", "https://shop.test/"),
        ("http://[::1]:8000/x", "http://[::1]:8000/x"),
        ("https://shop.test/catalogue.html", "https://shop.test/catalogue.html"),
    ],
)
def test_normalise_url(url: str, normalised: str) -> None:
    assert normalise_url(url) == normalised


@pytest.mark.parametrize(
    "url",
    [
        "mailto:shop@shop.test",
        "javascript:void(0)",
        "ftp://shop.test/file",
        "data:text/html,hi",
        "https://",
        "https://shop.test:99999/",
        "http://[::1/",
        "https://shop.test/files/menu.PDF",
        "https://shop.test/img/logo.png?v=2",
        "https://shop.test/logout",
        "https://shop.test/account/sign-out?next=/",
        "https://shop.test/log_off",
    ],
)
def test_what_is_not_a_page_to_visit(url: str) -> None:
    assert normalise_url(url) is None


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        ("/products/12", "/products/*"),
        ("/products/12/reviews", "/products/*/reviews"),
        ("/p/12.html", "/p/*.html"),
        ("/orders/123e4567-e89b-12d3-a456-426614174000", "/orders/*"),
        ("/commit/9fceb02d0ae598e95dc970b74767f19372d61af8", "/commit/*"),
        ("/shop/blue-mug-1234", "/shop/*"),
        ("/shop/blue_mug_7", "/shop/*"),
        ("/about", "/about"),
        ("/v2/docs", "/v2/docs"),
        ("/facade/", "/facade/"),  # hex letters, no digit: a word
        ("/", "/"),
        ("/.well-known/security.txt", "/.well-known/security.txt"),
        ("/été/12", "/été/*"),
    ],
)
def test_path_pattern(path: str, pattern: str) -> None:
    assert path_pattern(path) == pattern


def test_frontier_queues_each_page_once_and_a_few_per_pattern() -> None:
    frontier = Frontier(lambda url: url.startswith("https://shop.test/"), per_pattern=2)
    frontier.add(
        [
            "https://shop.test/",
            "https://shop.test/#main",
            "https://shop.test/?utm_source=x",
            "https://shop.test/products/1",
            "https://shop.test/products/2",
            "https://shop.test/products/3",
            "https://other.test/",
            "https://shop.test/search?q=mugs",
            "https://shop.test/search?q=bowls",
            "https://shop.test/search?q=plates",
            "https://shop.test/search?page=2",
            "mailto:x@shop.test",
        ]
    )
    frontier.visited("https://shop.test/moved")
    frontier.visited("mailto:x@shop.test")  # where no page is: nothing to remember
    frontier.add(["https://shop.test/moved", "https://shop.test/products/4"])
    queued = []
    while (url := frontier.next()) is not None:
        queued.append(url)
    assert queued == [
        "https://shop.test/",
        "https://shop.test/products/1",
        "https://shop.test/products/2",
        "https://shop.test/search?q=mugs",
        "https://shop.test/search?q=bowls",
        "https://shop.test/search?page=2",
    ]
    assert len(frontier) == 0


def test_sitemap_lines_of_robots_txt() -> None:
    robots = (
        "User-agent: *\nDisallow: /private\n"
        "Sitemap: https://shop.test/a.xml\n"
        "sitemap:https://shop.test/b.xml   # the blog\n"
        "SITEMAP: https://shop.test/a.xml\n"
        "Sitemap:\n"
        "# Sitemap: https://shop.test/commented.xml\n"
    )
    assert sitemaps_in_robots(robots) == ["https://shop.test/a.xml", "https://shop.test/b.xml"]


def test_a_sitemap_and_an_index() -> None:
    urlset = (
        f'<?xml version="1.0" encoding="UTF-8"?><urlset {NS} '
        'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">'
        "<url><loc> https://shop.test/a </loc><lastmod>2024-01-01</lastmod>"
        "<image:image><image:loc>https://shop.test/a.jpg</image:loc></image:image></url>"
        "<url><loc>https://shop.test/b?x=1&amp;y=2</loc></url><url><loc></loc></url></urlset>"
    )
    read = parse_sitemap(urlset.encode())
    assert read == sitemap.Sitemap(False, ("https://shop.test/a", "https://shop.test/b?x=1&y=2"))
    index = (
        f"<sitemapindex {NS}><sitemap><loc>https://shop.test/s.xml</loc></sitemap></sitemapindex>"
    )
    assert parse_sitemap(gzip.compress(index.encode())) == sitemap.Sitemap(
        True, ("https://shop.test/s.xml",)
    )


def test_a_sitemap_keeps_at_most_the_protocol_s_number_of_urls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sitemap, "MAX_SITEMAP_URLS", 2)
    urls = "".join(f"<url><loc>https://shop.test/{n}</loc></url>" for n in range(5))
    assert len(parse_sitemap(f"<urlset>{urls}</urlset>".encode()).urls) == 2


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<urlset><url><loc>https://shop.test/&d;</loc></url></urlset>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<urlset><url><loc>https://shop.test/&secret;</loc></url></urlset>"""


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (BILLION_LAUGHS, "DTD"),
        (EXTERNAL_ENTITY, "DTD"),
        (b'<!DOCTYPE urlset SYSTEM "http://evil.test/x.dtd"><urlset/>', "DTD"),
        (b"<urlset><url><loc>https://shop.test/&undeclared;</loc></url></urlset>", "XML"),
        (b"<html><body>not found</body></html>", "root element is <html>"),
        (b"User-agent: *", "XML"),
        (b"", "XML"),
        (b"<urlset>" + b"<a>" * 20 + b"</a>" * 20 + b"</urlset>", "nested deeper"),
        (b"\x1f\x8b\x08\x00broken", "truncated gzip"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff", "broken gzip"),
    ],
)
def test_what_a_sitemap_may_not_be(document: bytes, reason: str) -> None:
    with pytest.raises(SitemapError, match=reason):
        parse_sitemap(document)


def test_an_oversized_sitemap_is_refused_also_once_ungzipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sitemap, "MAX_SITEMAP_BYTES", 1000)
    big = b"<urlset>" + b" " * 1000 + b"</urlset>"
    with pytest.raises(SitemapError, match="larger than 1000 bytes"):
        parse_sitemap(big)
    # A gzip bomb: a few bytes that would inflate far past the limit.
    bomb = gzip.compress(b"<urlset>" + b" " * 10_000_000 + b"</urlset>")
    assert len(bomb) < 20_000
    with pytest.raises(SitemapError, match="once un-gzipped"):
        parse_sitemap(bomb)


# -- which Chromium ---------------------------------------------------------------------


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def no_browsers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No Playwright browser, an empty PATH: nothing to find until a test adds it."""
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "ms-playwright"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(browser, "_INSTALLED", ())
    return tmp_path


def test_an_explicit_browser_that_is_not_there(no_browsers: Path) -> None:
    missing = str(no_browsers / "nowhere" / "chrome")
    with pytest.raises(BrowserNotFound) as raised:
        find_browser(missing)
    message = str(raised.value)
    assert raised.value.path == missing
    assert f"--browser {missing}: does not exist" in message
    assert "playwright install chromium" in message
    assert "apt-get install chromium" in message


def test_an_explicit_browser_that_is_not_executable(no_browsers: Path) -> None:
    plain = no_browsers / "chrome"
    plain.write_text("")
    with pytest.raises(BrowserNotFound, match="is not executable"):
        find_browser(str(plain))


def test_an_explicit_browser_by_path_or_by_name(no_browsers: Path) -> None:
    chrome = executable(no_browsers / "bin" / "my-chrome")
    assert find_browser(str(chrome)) == str(chrome)
    assert find_browser("my-chrome") == str(chrome)  # a name on PATH


def test_nothing_found(no_browsers: Path) -> None:
    assert find_browser(None) is None
    with pytest.raises(BrowserNotFound, match="no Chromium found: install one with"):
        require_browser(None)


def test_a_system_chromium_on_path(no_browsers: Path) -> None:
    chromium = executable(no_browsers / "bin" / "chromium-browser")
    assert find_browser(None) == str(chromium)


def test_playwright_s_own_chromium_comes_first_its_revision_before_others(
    no_browsers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    executable(no_browsers / "bin" / "chromium")
    root = no_browsers / "ms-playwright"
    older = executable(root / "chromium-1100" / "chrome-linux" / "chrome")
    assert find_browser(None) == str(older)
    newer = executable(root / "chromium-1200" / "chrome-linux64" / "chrome")
    assert find_browser(None) == str(newer)
    monkeypatch.setattr(browser, "_playwright_revision", lambda: "1100")
    assert find_browser(None) == str(older)
    (root / "chromium_headless_shell-1200").mkdir()  # not a full Chromium: ignored
    (root / "chromium-tip").mkdir()  # no executable in it: ignored
    assert find_browser(None) == str(older)


def test_where_playwright_keeps_its_browsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAYWRIGHT_BROWSERS_PATH", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/cache")
    monkeypatch.setattr(sys, "platform", "linux")
    assert browser._playwright_browsers() == Path("/cache/ms-playwright")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert browser._playwright_browsers() == Path.home() / "Library/Caches/ms-playwright"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", "/local")
    assert browser._playwright_browsers() == Path("/local/ms-playwright")
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", "0")  # "hermetic": inside the package
    hermetic = browser._playwright_browsers()
    assert hermetic is not None
    assert hermetic.parts[-3:] == ("driver", "package", ".local-browsers")


def test_without_playwright(no_browsers: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "find_spec", lambda name: None)
    assert browser._playwright_revision() is None
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", "0")
    assert browser._playwright_browsers() is None
    assert find_browser(None) is None


def test_the_revision_installed_playwright_expects() -> None:
    revision = browser._playwright_revision()
    assert revision is not None
    assert revision.isdigit()
