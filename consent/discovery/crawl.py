"""The crawl of ``consent scan``: Playwright drives Chromium through the site in three
phases and notes every cookie, storage key and host it sees.

One browser, one context per phase, the three phases at once: ``before`` (no choice),
``rejected`` and ``accepted`` (the choice posted to the site's own consent endpoint from
one of its pages, so the browser itself keeps the consent cookie). Each phase visits up to
``max_pages`` same-site pages: the start URL, the pages of the site's sitemaps
(``robots.txt`` ``Sitemap:`` lines and ``/sitemap.xml``, read once in a fourth context),
then links breadth first, at most ``per_pattern`` pages per path pattern (``sitemap``).

What a phase notes (``model``), names only, never values:

- every ``Set-Cookie`` of every response of every frame, with the response's URL and the
  frame; a deletion (``Max-Age=0``, an ``Expires`` in the past) is not a cookie set;
- every cookie a script writes (``document.cookie``, ``cookieStore``) in any frame,
  cross-site iframes included, reported by ``probe.js`` with the writing script's URL;
  a write the browser refuses is reported too (the jar says what was kept);
- the browser's cookie jar after each page: HttpOnly, Secure, SameSite, partition and
  the lifetime the browser actually granted;
- ``localStorage`` and ``sessionStorage`` keys and IndexedDB database names of every
  frame, by the frame's origin;
- every host a page requested, with the kind of resource (script, image, fetch, ...).

The crawler records raw hosts and leaves first or third party to ``aggregate``. A page
that fails to load is logged (``consent.discovery``) and skipped; only the start URL
failing, or the consent endpoint refusing the choice, ends the crawl
(:class:`CrawlError`). Service workers are blocked, so that every request of a page is
seen on the network. Importing this module needs Playwright (the ``scan`` extra); what a
cookie write says is read by ``cookie_writes``, which does not.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, Literal
from urllib.parse import urlsplit

from playwright.async_api import (
    Browser,
    BrowserContext,
    Frame,
    Page,
    Request,
    Response,
    WebSocket,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from ..errors import ConsentError
from .browser import require_browser
from .cookie_writes import read_cookie
from .model import (
    PHASES,
    CookieSighting,
    HostSighting,
    Phase,
    PhaseResult,
    StorageKind,
    StorageSighting,
)
from .party import registrable_domain
from .sitemap import (
    MAX_ROBOTS_BYTES,
    MAX_SITEMAP_BYTES,
    Frontier,
    SitemapError,
    normalise_url,
    parse_sitemap,
    sitemaps_in_robots,
)

log = logging.getLogger("consent.discovery")

Progress = Callable[[Phase, int, int, str], None]
_ACTIONS: dict[Phase, Literal["reject_all", "accept_all"]] = {
    "rejected": "reject_all",
    "accepted": "accept_all",
}
# After the load event a page may still be fetching (tags load tags): wait for the
# network to be idle (Playwright: no request for 500 ms), at most this long.
SETTLE_S = 3.0
# Reading one frame's storage or one response's headers: a frame busy in a script or a
# response without headers must not hold the crawl.
_READ_TIMEOUT_S = 5.0
MAX_SITEMAPS = 20  # sitemap documents read, nested indexes included
_MAX_LINKS = 5000  # links read from one page
_MAX_KEYS = 1000  # keys read from one storage area of one frame
_MAX_NAME = 4096  # a longer cookie name or storage key is not a name: dropped
_BINDING = "__consentScanCookie"
_PROBE = files("consent.discovery").joinpath("probe.js").read_text(encoding="utf-8")
# Keys and database names of one frame; every read guarded, a frame may forbid storage.
_READ_STORAGE = """async (limit) => {
  const keys = (area) => {
    try { return Object.keys(area()).slice(0, limit); } catch (e) { return []; }
  };
  let databases = [];
  try { databases = (await indexedDB.databases()).map((d) => d.name); } catch (e) {}
  return {origin: location.origin, localStorage: keys(() => localStorage),
          sessionStorage: keys(() => sessionStorage), indexedDB: databases.slice(0, limit)};
}"""
# An SVG <a> has no string href: skipped.
_READ_LINKS = """(links, limit) => links.map((a) => a.href)
  .filter((href) => typeof href === "string").slice(0, limit)"""
# Fetch a same-origin document, reading at most `limit` bytes; base64, or null.
_FETCH = """async ([url, limit]) => {
  let response;
  try { response = await fetch(url, {credentials: "omit"}); } catch (e) { return null; }
  if (!response.ok || !response.body) return null;
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const {done, value} = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) { await reader.cancel(); return null; }
    chunks.push(value);
  }
  let binary = "";
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i += 32768) {
      binary += String.fromCharCode.apply(null, chunk.subarray(i, i + 32768));
    }
  }
  return btoa(binary);
}"""
_POST_CHOICE = """async ([endpoint, action]) => {
  const response = await fetch(endpoint, {method: "POST", credentials: "same-origin",
    headers: {"content-type": "application/json"}, body: JSON.stringify({action})});
  return response.status;
}"""
# A document of the site's origin that the site never serves: the discovery context's
# fetches of robots.txt and sitemaps are then same-origin, and nothing of the site runs.
_BLANK_PATH = "/.consent-scan-blank"


class CrawlError(ConsentError):
    """The crawl cannot go on: the start URL does not load, or consent is not taken."""


@dataclass(frozen=True)
class CrawlOptions:
    start_url: str
    endpoint: str = "/consent"  # the policy's `endpoint`, where consent is given
    max_pages: int = 30  # per phase
    browser_path: str | None = None  # --browser; None: find one (browser.find_browser)
    per_pattern: int = 3  # pages per path pattern (sitemap.path_pattern)
    timeout_s: float = 15.0  # per page
    extra_args: tuple[str, ...] = ()  # more Chromium arguments (tests: host resolver rules)


async def crawl(options: CrawlOptions, progress: Progress | None = None) -> list[PhaseResult]:
    """Crawl the site in each phase; one :class:`PhaseResult` per phase, in ``PHASES`` order.

    ``progress(phase, pages_done, pages_planned, url)`` is called after each page; the
    phases run at once, so calls of different phases interleave. The ``before`` result
    holds a PNG screenshot of the first page as a visitor first sees it (the banner).
    Raises :class:`BrowserNotFound`, :class:`CrawlError`, and Playwright's ``Error`` when
    the browser itself fails.
    """
    start = normalise_url(options.start_url)
    if start is None:
        raise CrawlError(f"{options.start_url}: not the address of an http(s) page")
    if options.max_pages < 1:
        raise CrawlError("max_pages must be 1 or more")
    executable = require_browser(options.browser_path)
    in_scope = _scope(start, options.endpoint)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=list(options.extra_args)
        )
        seeds = asyncio.ensure_future(_sitemap_pages(browser, start, options))
        phases = [
            asyncio.ensure_future(
                _Phase(browser, phase, start, options, progress).run(in_scope, seeds)
            )
            for phase in PHASES
        ]
        try:
            return list(await asyncio.gather(*phases))
        finally:
            # One phase failed (or the crawl was cancelled): end the others before the
            # browser goes, so that none fails for want of it.
            for task in (seeds, *phases):
                task.cancel()
            await asyncio.gather(seeds, *phases, return_exceptions=True)
            await browser.close()


def _scope(start: str, endpoint: str) -> Callable[[str], bool]:
    """Which pages the crawl visits: those of the start URL's registrable domain, except
    the consent endpoint's own (the library's pages, not the site's)."""
    site = registrable_domain(urlsplit(start).hostname or "")
    endpoint = "/" + endpoint.strip("/")

    def in_scope(url: str) -> bool:
        parts = urlsplit(url)
        if parts.path == endpoint or parts.path.startswith(endpoint + "/"):
            return False
        return parts.hostname is not None and registrable_domain(parts.hostname) == site

    return in_scope


# -- one phase ----------------------------------------------------------------------------


class _Phase:
    """One phase's context, its page and what it notes (a ``PhaseResult``)."""

    def __init__(
        self,
        browser: Browser,
        phase: Phase,
        start: str,
        options: CrawlOptions,
        progress: Progress | None,
    ) -> None:
        self.browser = browser
        self.phase = phase
        self.start = start
        self.options = options
        self.progress = progress
        self.result = PhaseResult(phase)
        self.page_url = start  # the page being read: every sighting names it
        self.recording = False  # off while consent is given: that is not the phase yet
        self._pending: set[asyncio.Task[None]] = set()
        self._seen: set[object] = set()

    async def run(
        self, in_scope: Callable[[str], bool], seeds: asyncio.Future[list[str]]
    ) -> PhaseResult:
        context = await self.browser.new_context(service_workers="block", accept_downloads=False)
        try:
            await context.expose_binding(_BINDING, self._on_script_cookie)
            await context.add_init_script(_PROBE)
            context.on("request", self._on_request)
            context.on("response", self._on_response)
            page = await context.new_page()
            page.on("websocket", self._on_websocket)
            if self.phase in _ACTIONS:
                await self._give_consent(page, _ACTIONS[self.phase])
            self.recording = True
            frontier = Frontier(in_scope, self.options.per_pattern)
            frontier.add([self.start])
            first = True
            while len(self.result.pages) < self.options.max_pages:
                url = frontier.next()
                if url is None:
                    break
                links = await self._visit(context, page, url, frontier)
                if first:
                    if links is None:
                        raise CrawlError(f"{self.phase} phase: the start page {url} did not load")
                    if self.phase == "before":
                        self.result.screenshot = await page.screenshot(type="png")
                    frontier.add(await seeds)  # sitemap pages first, then links
                    first = False
                frontier.add(links or ())
                if self.progress is not None:
                    done = len(self.result.pages)
                    planned = min(self.options.max_pages, done + len(frontier))
                    self.progress(self.phase, done, planned, url)
        finally:
            for task in self._pending:  # headers of responses no page will be read for
                task.cancel()
            await context.close()
        return self.result

    async def _give_consent(self, page: Page, action: str) -> None:
        """Post the choice from a page of the site, as its banner does."""
        timeout_ms = self.options.timeout_s * 1000
        try:
            await page.goto(self.start, timeout=timeout_ms)
            status = await page.evaluate(_POST_CHOICE, [self.options.endpoint, action])
        except PlaywrightError as error:
            raise CrawlError(
                f"{self.phase} phase: could not post {action} to {self.options.endpoint} "
                f"from {self.start}: {first_line(error)}"
            ) from None
        if status != 200:
            raise CrawlError(
                f"{self.phase} phase: POST {self.options.endpoint} {{'action': '{action}'}} "
                f"answered {status}; is `endpoint` in --config the site's consent endpoint?"
            )

    async def _visit(
        self, context: BrowserContext, page: Page, url: str, frontier: Frontier
    ) -> list[str] | None:
        """Load ``url``, note what it stores; its links, or ``None`` when it did not load."""
        self.page_url = url
        try:
            await page.goto(url, timeout=self.options.timeout_s * 1000)
        except PlaywrightTimeout:
            log.warning("%s phase: %s did not finish loading; read as it is", self.phase, url)
        except PlaywrightError as error:
            log.warning("%s phase: %s not read: %s", self.phase, url, first_line(error))
            return None
        with suppress(PlaywrightError):  # a page that is never idle is read as it is
            await page.wait_for_load_state("networkidle", timeout=SETTLE_S * 1000)
        frontier.visited(page.url)  # where a redirect landed
        self.result.pages.append(url)
        await self._read_page(context, page)
        try:
            links = await page.locator("a[href], area[href]").evaluate_all(_READ_LINKS, _MAX_LINKS)
        except PlaywrightError:
            return []
        return [link for link in links if isinstance(link, str)]

    # -- what the page stores --------------------------------------------------------

    async def _read_page(self, context: BrowserContext, page: Page) -> None:
        if self._pending:  # Set-Cookie headers still being read
            await asyncio.wait(self._pending)
        frames = await asyncio.gather(*(self._read_storage(frame) for frame in page.frames))
        for origin, kind, key in (item for frame in frames for item in frame):
            self._note(StorageSighting(self.phase, self.page_url, kind, origin, key))
        now = time.time()
        for cookie in await context.cookies():
            expires = cookie.get("expires", -1)
            self._note(
                CookieSighting(
                    self.phase,
                    self.page_url,
                    name=cookie.get("name", ""),
                    domain=cookie.get("domain", ""),
                    path=cookie.get("path", "/"),
                    http_only=cookie.get("httpOnly"),
                    secure=cookie.get("secure"),
                    same_site=cookie.get("sameSite"),
                    lifetime_s=None if expires < 0 else max(0, round(expires - now)),
                    partition=cookie.get("partitionKey"),
                )
            )

    async def _read_storage(self, frame: Frame) -> list[tuple[str, StorageKind, str]]:
        try:
            read = await asyncio.wait_for(frame.evaluate(_READ_STORAGE, _MAX_KEYS), _READ_TIMEOUT_S)
        except (PlaywrightError, TimeoutError):
            return []  # detached, or busy: nothing more to learn from it
        origin = read.get("origin") if isinstance(read, dict) else None
        if not isinstance(origin, str) or origin == "null":
            return []  # an opaque origin (sandboxed frame, data: URL) has no storage
        kinds: tuple[StorageKind, ...] = ("localStorage", "sessionStorage", "indexedDB")
        return [
            (origin, kind, key)
            for kind in kinds
            for key in read.get(kind) or ()
            if isinstance(key, str) and len(key) <= _MAX_NAME
        ]

    def _note(self, sighting: CookieSighting | StorageSighting | HostSighting) -> None:
        if sighting in self._seen:  # once per page is enough
            return
        self._seen.add(sighting)
        if isinstance(sighting, CookieSighting):
            self.result.cookies.append(sighting)
        elif isinstance(sighting, StorageSighting):
            self.result.storage.append(sighting)
        else:
            self.result.hosts.append(sighting)

    # -- events -------------------------------------------------------------------------

    def _on_request(self, request: Request) -> None:
        if self.recording:
            self._note_host(request.url, request.resource_type)

    def _on_websocket(self, websocket: WebSocket) -> None:
        if self.recording:
            self._note_host(websocket.url, "websocket")

    def _note_host(self, url: str, resource_type: str) -> None:
        host = urlsplit(url).hostname
        if host:  # data:, blob: and the like name no host
            self._note(HostSighting(self.phase, self.page_url, host, resource_type))

    def _on_response(self, response: Response) -> None:
        if not self.recording:
            return
        # The headers come in another round trip: read them in a task that the page
        # waits for before it is read.
        task = asyncio.get_running_loop().create_task(
            self._read_set_cookies(response, self.page_url)
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _read_set_cookies(self, response: Response, page: str) -> None:
        try:
            headers = await asyncio.wait_for(response.header_values("set-cookie"), _READ_TIMEOUT_S)
            frame_url = _response_frame(response, page)
        except (PlaywrightError, TimeoutError):
            return
        now = time.time()
        # Chromium may join several Set-Cookie headers with a newline.
        for header in (line for value in headers for line in value.split("\n")):
            pair, _, attributes = header.partition(";")
            # Without "=" the text is a nameless cookie's value: never shown.
            name = pair.partition("=")[0].strip() if "=" in pair else ""
            cookie = read_cookie(name, attributes, response.url, now)
            if cookie is not None:
                self._note(cookie.sighting(self.phase, page, "http", frame_url, response.url))

    def _on_script_cookie(self, source: dict[str, Any], written: Any) -> None:
        """The binding ``probe.js`` calls: ``{name, attributes, source}`` of one write."""
        if not self.recording or not isinstance(written, dict):
            return
        name, attributes = written.get("name"), written.get("attributes")
        writer = written.get("source")
        if not isinstance(name, str) or not isinstance(attributes, str) or len(name) > _MAX_NAME:
            return
        frame: Frame = source["frame"]
        frame_url = self.page_url if frame.parent_frame is None else frame.url
        # An about:blank or srcdoc frame writes for the document that made it.
        document = frame.url if frame.url.startswith("http") else self.page_url
        cookie = read_cookie(name, attributes, document, time.time(), http_only=False)
        if cookie is not None:
            writer_url = writer if isinstance(writer, str) else None
            self._note(cookie.sighting(self.phase, self.page_url, "js", frame_url, writer_url))


def _response_frame(response: Response, page: str) -> str:
    """The URL of the frame a response belongs to: the page for the top frame, the
    document it loads for an iframe's navigation."""
    frame = response.frame
    if frame.parent_frame is None:
        return page
    return response.url if response.request.is_navigation_request() else frame.url


def first_line(error: PlaywrightError) -> str:
    # Playwright appends a call log to its messages: the first line says what failed.
    lines = (error.message or str(error)).strip().splitlines()
    return lines[0] if lines else "no reason given"


# -- sitemaps ------------------------------------------------------------------------------


async def _sitemap_pages(browser: Browser, start: str, options: CrawlOptions) -> list[str]:
    """The pages listed by the site's sitemaps, read in a context of their own.

    Through the browser, not a Python client, so that its proxy, certificates and host
    resolution (``--host-resolver-rules``) apply. Sitemaps of another origin are read
    only when that origin allows it (CORS); whatever fails is logged and skipped.
    """
    parts = urlsplit(start)
    origin = f"{parts.scheme}://{parts.netloc}"
    pages: list[str] = []
    context = await browser.new_context(service_workers="block", accept_downloads=False)
    try:
        page = await context.new_page()
        await page.route(
            origin + _BLANK_PATH,
            lambda route: route.fulfill(content_type="text/html", body="<!doctype html>"),
        )
        await page.goto(origin + _BLANK_PATH, timeout=options.timeout_s * 1000)
        robots = await _fetch(page, origin + "/robots.txt", MAX_ROBOTS_BYTES, options)
        queue = sitemaps_in_robots(robots.decode("utf-8", "replace")) if robots else []
        queue.append(origin + "/sitemap.xml")
        read: set[str] = set()
        while queue and len(read) < MAX_SITEMAPS:
            url = queue.pop(0)
            if url in read:
                continue
            read.add(url)
            data = await _fetch(page, url, MAX_SITEMAP_BYTES, options)
            if data is None:
                continue
            try:
                sitemap = parse_sitemap(data)
            except SitemapError as error:
                log.warning("sitemap %s not read: %s", url, error)
                continue
            (queue if sitemap.index else pages).extend(sitemap.urls)
    except (PlaywrightError, TimeoutError) as error:
        reason = first_line(error) if isinstance(error, PlaywrightError) else "timed out"
        log.warning("the sitemaps of %s were not all read: %s", origin, reason)
    finally:
        await context.close()
    return pages


async def _fetch(page: Page, url: str, limit: int, options: CrawlOptions) -> bytes | None:
    """``url``'s body, fetched by ``page``; ``None`` when it fails or exceeds ``limit``."""
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    encoded = await asyncio.wait_for(page.evaluate(_FETCH, [url, limit]), options.timeout_s)
    return base64.b64decode(encoded) if isinstance(encoded, str) else None
