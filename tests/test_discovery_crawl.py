"""The crawl of ``consent scan`` in a real Chromium, on the shop of ``tests/discovery_site``.

One crawl of the shop (three phases) is shared by the module's browser tests; each
asserts where one thing was seen. Outside CI a missing Chromium skips them with a
message; in CI (``CI=true``) it fails them. The reading of a cookie's attributes is
tested without a browser.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from consent.discovery.browser import find_browser
from consent.discovery.cookie_writes import read_cookie
from consent.discovery.crawl import CrawlError, CrawlOptions, crawl
from consent.discovery.model import PHASES, CookieSighting, Phase, PhaseResult
from tests.conftest import missing
from tests.discovery_site import PRODUCTS, Sites, discovery_sites

NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
PNG = b"\x89PNG\r\n\x1a\n"


# -- a cookie's attributes (no browser) -------------------------------------------------------


def test_a_set_cookie_s_scope() -> None:
    attributes = " Domain=.Shop.Test; Path=/basket; Secure; HttpOnly; SameSite=none; Max-Age=60"
    cookie = read_cookie("sid", attributes, "https://www.shop.test/a/b", NOW)
    assert cookie is not None
    assert (cookie.domain, cookie.path, cookie.lifetime_s) == (".shop.test", "/basket", 60)
    assert (cookie.http_only, cookie.secure, cookie.same_site) == (True, True, "None")
    assert not cookie.partitioned


def test_defaults_host_only_the_url_s_directory_a_session() -> None:
    cookie = read_cookie("lang", "", "https://shop.test/shop/mugs/blue", NOW)
    assert cookie is not None
    assert (cookie.domain, cookie.path, cookie.lifetime_s) == ("shop.test", "/shop/mugs", None)
    assert (cookie.http_only, cookie.secure, cookie.same_site) == (False, False, None)
    for url in ("https://shop.test", "https://shop.test/mugs"):
        assert read_cookie("lang", "Path=relative", url, NOW).path == "/"  # type: ignore[union-attr]


def test_lifetimes() -> None:
    def lifetime(attributes: str) -> int | None:
        cookie = read_cookie("_ga", attributes, "https://shop.test/", NOW)
        assert cookie is not None
        return cookie.lifetime_s

    assert lifetime("Expires=Tue, 14 Nov 2023 23:13:20 GMT") == 3600
    assert lifetime("Expires=Tue, 14-Nov-2023 23:13:20 GMT; Max-Age=5") == 5  # Max-Age wins
    assert lifetime("Max-Age=soon; Expires=Tue, 14 Nov 2023 23:13:20 GMT") == 3600
    assert lifetime("Expires=someday") is None  # unreadable: a session cookie
    assert lifetime("Max-Age=315360000") == 400 * 24 * 3600  # ten years asked, 400 days kept


@pytest.mark.parametrize(
    "attributes", ["Max-Age=0", "Max-Age=-1", "Expires=Thu, 01 Jan 1970 00:00:00 GMT"]
)
def test_a_deletion_is_not_a_cookie_set(attributes: str) -> None:
    assert read_cookie("_ga", f"Path=/; {attributes}", "https://shop.test/", NOW) is None


def test_partitioned_and_js_written() -> None:
    cookie = read_cookie(
        "c", "Secure; Partitioned; HttpOnly", "https://t.test/", NOW, http_only=False
    )
    assert cookie is not None
    assert cookie.partitioned
    assert not cookie.http_only  # a script cannot write an HttpOnly cookie
    sighting = cookie.sighting("before", "https://shop.test/p", "js", "https://t.test/", None)
    assert sighting.partition == "https://shop.test"  # keyed by the top-level site
    assert sighting.domain == "t.test"


@pytest.mark.parametrize("start", ["mailto:shop@shop.test", "https://shop.test/menu.pdf"])
def test_a_start_url_that_is_not_a_page(start: str) -> None:
    with pytest.raises(CrawlError, match="not the address of an http"):
        asyncio.run(crawl(CrawlOptions(start)))


def test_max_pages_must_be_positive() -> None:
    with pytest.raises(CrawlError, match="max_pages"):
        asyncio.run(crawl(CrawlOptions("https://shop.test/", max_pages=0)))


# -- the crawl of the shop ---------------------------------------------------------------------


@dataclass(frozen=True)
class Scan:
    sites: Sites
    phases: dict[Phase, PhaseResult]
    progress: list[tuple[Phase, int, int, str]]
    seconds: float

    def url(self, path: str) -> str:
        return self.sites.shop + path

    def cookies(self, name: str, set_by: str | None = "any") -> dict[Phase, list[CookieSighting]]:
        """The sightings of ``name`` per phase (``set_by`` "any", "http", "js", None: jar)."""
        return {
            phase: [
                c
                for c in result.cookies
                if c.name == name and (set_by == "any" or c.set_by == set_by)
            ]
            for phase, result in self.phases.items()
        }

    def phases_with(self, name: str, set_by: str | None = "any") -> list[Phase]:
        return [phase for phase, seen in self.cookies(name, set_by).items() if seen]

    def storage(self, kind: str, key: str) -> list[tuple[Phase, str]]:
        """(phase, origin) of each phase that saw ``key``, in ``PHASES`` order."""
        return [
            (phase, origin)
            for phase, result in self.phases.items()
            for origin in sorted(
                {s.origin for s in result.storage if (s.kind, s.key) == (kind, key)}
            )
        ]


def chromium_or_skip() -> str:
    chromium = find_browser(None)
    if chromium is None:
        missing("the crawl tests need Chromium (apt-get install chromium)")
    return chromium


@pytest.fixture(scope="module")
def sites() -> Iterator[Sites]:
    chromium_or_skip()
    with discovery_sites() as served:
        yield served


@pytest.fixture(scope="module")
def scan(sites: Sites) -> Scan:
    calls: list[tuple[Phase, int, int, str]] = []
    options = CrawlOptions(sites.shop + "/", extra_args=sites.chromium_args, timeout_s=10)
    started = time.monotonic()
    results = asyncio.run(crawl(options, lambda *call: calls.append(call)))
    seconds = time.monotonic() - started
    assert [r.phase for r in results] == list(PHASES)
    return Scan(sites, {r.phase: r for r in results}, calls, seconds)


@pytest.mark.browser
def test_pages_from_the_start_the_sitemaps_and_links(scan: Scan) -> None:
    expected = [
        scan.url("/"),
        scan.url("/sitemap-only"),  # listed only in a sitemap nested in robots.txt's index
        scan.url("/products/1"),
        scan.url("/products/2"),
        scan.url("/products/3"),  # per_pattern: 3 of the 5 products
        scan.url("/about"),  # once, whatever utm_*, gclid or fragment the links carry
        scan.url("/linked-only"),
    ]
    assert PRODUCTS > 3  # the site has more: the per-pattern limit is what stopped it
    for phase in PHASES:
        assert scan.phases[phase].pages == expected, phase  # no logout, PDF, endpoint, offsite


@pytest.mark.browser
def test_progress_per_page(scan: Scan) -> None:
    for phase in PHASES:
        calls = [call for call in scan.progress if call[0] == phase]
        assert [done for _, done, _, _ in calls] == list(range(1, 8))
        assert [url for *_, url in calls] == scan.phases[phase].pages
        assert calls[-1][2] == 7  # planned pages, once the frontier is known
        assert all(done <= planned for _, done, planned, _ in calls)


@pytest.mark.browser
def test_the_server_s_cookies_as_the_middleware_lets_them_through(scan: Scan) -> None:
    assert scan.phases_with("sid", "http") == list(PHASES)
    assert scan.phases_with("_ga", "http") == ["accepted"]
    assert scan.phases_with("_ga", None) == ["accepted"]
    [ga] = scan.cookies("_ga", "http")["accepted"]
    assert (ga.page, ga.frame_url, ga.source_url) == (scan.url("/"), scan.url("/"), scan.url("/"))
    assert (ga.domain, ga.path, ga.lifetime_s) == ("shop.test", "/", 3600)
    [sid] = scan.cookies("sid", None)["before"][:1]
    assert (sid.http_only, sid.same_site, sid.lifetime_s) == (True, "Lax", None)
    assert scan.phases_with("consent", None) == ["rejected", "accepted"]


@pytest.mark.browser
def test_a_script_s_cookie_before_any_choice(scan: Scan) -> None:
    assert scan.phases_with("_tracker", "js") == list(PHASES)  # the planted violation
    assert scan.phases_with("_tracker", None) == list(PHASES)
    written = scan.cookies("_tracker", "js")["before"][0]
    assert (written.source_url, written.frame_url) == (scan.url("/"), scan.url("/"))  # inline
    assert (written.http_only, written.lifetime_s) == (False, 86400)


@pytest.mark.browser
def test_a_third_party_script_s_cookie_on_the_shop(scan: Scan) -> None:
    assert scan.phases_with("_tp_js", "js") == ["accepted"]
    [written] = scan.cookies("_tp_js", "js")["accepted"]
    assert written.source_url == f"{scan.sites.tracker}/tag.js"  # who wrote it
    assert (written.domain, written.frame_url) == ("shop.test", scan.url("/"))


@pytest.mark.browser
def test_a_cross_site_iframe_s_cookies_and_storage(scan: Scan) -> None:
    frame = f"{scan.sites.tracker}/frame"
    assert scan.phases_with("_tf", "js") == list(PHASES)
    assert scan.phases_with("_tf_http", "http") == list(PHASES)
    for name in ("_tf", "_tf_http"):
        for sighting in (s for seen in scan.cookies(name).values() for s in seen):
            assert (sighting.domain, sighting.page) == ("tracker.example", scan.url("/"))
            if sighting.set_by is not None:
                assert (sighting.frame_url, sighting.source_url) == (frame, frame)
    tracker = scan.sites.tracker
    assert scan.storage("localStorage", "tf_key") == [(phase, tracker) for phase in PHASES]


@pytest.mark.browser
def test_a_deletion_is_not_a_cookie(scan: Scan) -> None:
    assert scan.phases_with("old_http") == []
    assert scan.phases_with("old_js") == []
    # Nor is what a page passes to the scanner's binding on its own: /linked-only does.
    names = {c.name for result in scan.phases.values() for c in result.cookies}
    assert names == {"sid", "_ga", "consent", "_tracker", "_tp_js", "_tf", "_tf_http", "pref_cs"}


@pytest.mark.browser
def test_cookie_store(scan: Scan) -> None:
    assert scan.phases_with("pref_cs", "js") == list(PHASES)
    written = scan.cookies("pref_cs", "js")["before"][0]
    assert (written.page, written.secure, written.same_site) == (scan.url("/about"), True, "Strict")


@pytest.mark.browser
def test_storage_by_frame_origin(scan: Scan) -> None:
    shop = scan.sites.shop
    assert scan.storage("localStorage", "theme") == [(phase, shop) for phase in PHASES]
    assert scan.storage("localStorage", "linked_only") == [(phase, shop) for phase in PHASES]
    assert scan.storage("sessionStorage", "from_sitemap") == [(phase, shop) for phase in PHASES]
    assert scan.storage("indexedDB", "tracker-db") == [("accepted", shop)]
    first = [s for s in scan.phases["before"].storage if s.page == scan.url("/sitemap-only")]
    assert {(s.kind, s.key) for s in first} == {
        ("localStorage", "theme"),
        ("sessionStorage", "from_sitemap"),
    }


@pytest.mark.browser
def test_hosts_each_page_loaded(scan: Scan) -> None:
    def tracker_requests(phase: Phase) -> set[str]:
        hosts = scan.phases[phase].hosts
        return {h.resource_type for h in hosts if h.host == "tracker.example"}

    assert tracker_requests("before") == {"document", "image"}
    assert tracker_requests("rejected") == {"document", "image"}
    assert tracker_requests("accepted") == {"document", "image", "script", "fetch", "websocket"}
    home = {
        (h.host, h.resource_type) for h in scan.phases["before"].hosts if h.page == scan.url("/")
    }
    assert ("shop.test", "document") in home


@pytest.mark.browser
def test_screenshot_of_the_first_page_before_any_choice(scan: Scan) -> None:
    screenshot = scan.phases["before"].screenshot
    assert screenshot is not None
    assert screenshot.startswith(PNG)
    assert scan.phases["rejected"].screenshot is None
    assert scan.phases["accepted"].screenshot is None


@pytest.mark.browser
def test_max_pages(sites: Sites) -> None:
    options = CrawlOptions(sites.shop + "/", max_pages=2, extra_args=sites.chromium_args)
    results = asyncio.run(crawl(options))
    for result in results:
        assert result.pages == [sites.shop + "/", sites.shop + "/sitemap-only"]


@pytest.mark.browser
def test_an_endpoint_that_takes_no_consent(sites: Sites) -> None:
    options = CrawlOptions(
        sites.shop + "/", endpoint="/nowhere", max_pages=1, extra_args=sites.chromium_args
    )
    with pytest.raises(CrawlError, match=r"POST /nowhere .* answered 404"):
        asyncio.run(crawl(options))


@pytest.mark.browser
def test_a_start_page_that_does_not_load(sites: Sites) -> None:
    with socket.socket() as sock:  # a port that nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = CrawlOptions(f"http://shop.test:{port}/", extra_args=sites.chromium_args)
    with pytest.raises(CrawlError, match=r"could not post|did not load"):
        asyncio.run(crawl(options))
