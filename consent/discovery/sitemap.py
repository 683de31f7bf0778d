"""Where the crawl goes: page URLs normalised, grouped by path pattern, and found in
``robots.txt`` and sitemaps.

Plain Python, no browser: the crawler fetches the documents, this module reads them.
Everything here is linear in its input and bounded, because a sitemap is written by the
site being scanned and may be huge or hostile: a document larger than ``MAX_SITEMAP_BYTES``
(also once un-gzipped) is refused, and so is any DTD (``<!DOCTYPE``), which is what
entity bombs and external entities need. A sitemap never has one.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit
from xml.parsers import expat

from ..errors import ConsentError

# The sitemap protocol's own limits are 50 MB and 50,000 URLs per file. A crawl of a few
# dozen pages needs far fewer; 10 MiB holds ~100,000 typical <url> entries.
MAX_SITEMAP_BYTES = 10 * 1024 * 1024
MAX_SITEMAP_URLS = 50_000
MAX_ROBOTS_BYTES = 512 * 1024  # what Google reads of a robots.txt
_MAX_DEPTH = 16  # a sitemap nests three levels; deeper is a parser bomb

# Query parameters that only say where a visitor came from: the same page either way.
_TRACKING_PARAMS = frozenset(
    {"gclid", "fbclid", "msclkid", "dclid", "gbraid", "wbraid", "yclid", "igshid", "_gl"}
    | {"mc_cid", "mc_eid"}
)
# Links to these are downloads or assets, not pages: a browser would not render them.
_NOT_PAGES = frozenset(
    {"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "ics", "vcf"}
    | {"zip", "gz", "tgz", "tar", "rar", "7z", "bz2", "xz", "dmg", "exe", "msi", "apk", "iso"}
    | {"jpg", "jpeg", "png", "gif", "webp", "avif", "svg", "ico", "bmp", "tif", "tiff", "heic"}
    | {"mp3", "mp4", "m4a", "m4v", "webm", "mov", "avi", "mkv", "wav", "ogg", "flac"}
    | {"woff", "woff2", "ttf", "otf", "eot", "css", "js", "mjs", "map", "json", "xml", "txt"}
    | {"rss", "atom", "csv", "deb", "rpm"}
)
# A link that ends the visitor's session: following it could change what later pages set.
_LOGOUT = re.compile(
    r"(?:^|[/_.-])(?:log[-_]?out|sign[-_]?out|log[-_]?off)(?:$|[/_.-])", re.IGNORECASE
)
_UUID = re.compile(r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}", re.IGNORECASE)
_HEX = re.compile(r"[0-9a-f]{8,}", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class SitemapError(ConsentError, ValueError):
    """A sitemap that is not read: too large, not XML, not a sitemap, or with a DTD."""


# -- URLs --------------------------------------------------------------------------------


def normalise_url(url: str) -> str | None:
    """The URL the crawler visits for ``url``, or ``None`` when it is not a page to visit.

    Lower-cased scheme and host, no user info, no default port, ``/`` for an empty
    path; no fragment; no ``utm_*``, ``gclid``, ``fbclid`` and other click ids; the
    remaining query parameters sorted by name (their text untouched), so variants of one
    page are visited once. ``None`` for anything but http(s), an unreadable URL, a
    download or asset by its extension (``.pdf``, ``.zip``, images, ...) and a logout
    link (``/logout``, ``/sign-out``, ...), which would end the session being scanned.
    """
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    path = parts.path or "/"
    last = path.rsplit("/", 1)[-1]
    if "." in last and last.rsplit(".", 1)[1].lower() in _NOT_PAGES:
        return None
    if _LOGOUT.search(unquote_plus(path)):
        return None
    if ":" in host:  # IPv6: urlsplit dropped the brackets
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    pieces = [p for p in parts.query.split("&") if p and not _is_tracking(p)]
    pieces.sort(key=_param_name)
    query = "&".join(pieces)
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def _param_name(piece: str) -> str:
    return unquote_plus(piece.partition("=")[0])


def _is_tracking(piece: str) -> bool:
    name = _param_name(piece).lower()
    return name.startswith("utm_") or name in _TRACKING_PARAMS


def path_pattern(path: str) -> str:
    """``path`` with each segment that is an id replaced by ``*``.

    An id is all digits, a UUID, a hex string of 8 or more with a digit in it, or a slug
    ending in a number (``blue-mug-1234``); an extension is kept (``/p/12.html`` →
    ``/p/*.html``). ``/products/12`` and ``/products/13`` share ``/products/*``, so the
    crawl visits a few of them and moves on to other kinds of pages.
    """
    return "/".join(_segment_pattern(segment) for segment in path.split("/"))


def _segment_pattern(segment: str) -> str:
    stem, dot, extension = segment.rpartition(".")
    if not dot or not stem:
        stem, extension = segment, ""
    return f"*{dot}{extension}" if _is_id(stem) else segment


def _is_id(stem: str) -> bool:
    if not stem.isascii():
        return False
    if stem.isdigit() or _UUID.fullmatch(stem):
        return True
    if _HEX.fullmatch(stem) and any(c.isdigit() for c in stem):
        return True
    before_number = stem.rstrip("0123456789")
    return before_number != stem and before_number.endswith(("-", "_"))


def pattern_key(url: str) -> str:
    """What ``per_pattern`` counts: the path pattern and the names of the query parameters."""
    parts = urlsplit(url)
    names = sorted({_param_name(p) for p in parts.query.split("&") if p})
    return path_pattern(parts.path) + ("?" + "&".join(names) if names else "")


class Frontier:
    """The pages a phase will visit, breadth first.

    ``in_scope`` says which (normalised) URLs belong to the site. At most ``per_pattern``
    URLs of one :func:`pattern_key` are ever queued, and every URL once.
    """

    def __init__(self, in_scope: Callable[[str], bool], per_pattern: int) -> None:
        self.in_scope = in_scope
        self.per_pattern = per_pattern
        self._queue: deque[str] = deque()
        self._seen: set[str] = set()
        self._patterns: Counter[str] = Counter()

    def add(self, urls: Iterable[str]) -> None:
        for url in urls:
            page = normalise_url(url)
            if page is None or page in self._seen or not self.in_scope(page):
                continue
            self._seen.add(page)
            key = pattern_key(page)
            if self._patterns[key] >= self.per_pattern:
                continue
            self._patterns[key] += 1
            self._queue.append(page)

    def visited(self, url: str) -> None:
        """Mark ``url`` (where a redirect landed) as seen, so it is not queued again."""
        page = normalise_url(url)
        if page is not None:
            self._seen.add(page)

    def next(self) -> str | None:
        return self._queue.popleft() if self._queue else None

    def __len__(self) -> int:
        return len(self._queue)


# -- robots.txt and sitemaps --------------------------------------------------------------


def sitemaps_in_robots(text: str) -> list[str]:
    """The URLs of the ``Sitemap:`` lines of a ``robots.txt``, in order, each once."""
    found: list[str] = []
    for line in text.splitlines():
        name, colon, value = line.partition("#")[0].partition(":")
        url = value.strip()
        if colon and name.strip().lower() == "sitemap" and url and url not in found:
            found.append(url)
    return found


@dataclass(frozen=True, slots=True)
class Sitemap:
    """A parsed sitemap: the pages it lists, or (``index``) the sitemaps it lists."""

    index: bool
    urls: tuple[str, ...]


def parse_sitemap(data: bytes) -> Sitemap:
    """Read a sitemap (``<urlset>``) or a sitemap index (``<sitemapindex>``), gzipped or not.

    Raises :class:`SitemapError` for a document over ``MAX_SITEMAP_BYTES`` (before or
    after un-gzipping), one with a DTD, malformed XML and any other root element. At most
    ``MAX_SITEMAP_URLS`` URLs are kept.
    """
    xml = _gunzip(data) if data[:2] == b"\x1f\x8b" else data
    if len(xml) > MAX_SITEMAP_BYTES:
        raise SitemapError(f"a sitemap larger than {MAX_SITEMAP_BYTES} bytes is not read")
    reader = _SitemapReader()
    try:
        reader.parse(xml)
    except expat.ExpatError as error:
        raise SitemapError(f"not well-formed XML: {error}") from None
    if reader.root not in ("urlset", "sitemapindex"):
        raise SitemapError(f"not a sitemap: the root element is <{reader.root or '?'}>")
    return Sitemap(index=reader.root == "sitemapindex", urls=tuple(reader.urls))


def _gunzip(data: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        xml = inflater.decompress(data, MAX_SITEMAP_BYTES + 1)
    except zlib.error as error:
        raise SitemapError(f"a broken gzip file: {error}") from None
    if len(xml) > MAX_SITEMAP_BYTES:
        raise SitemapError(f"a sitemap larger than {MAX_SITEMAP_BYTES} bytes once un-gzipped")
    if not inflater.eof:
        raise SitemapError("a truncated gzip file")
    return xml


class _SitemapReader:
    """Collects the ``<loc>`` of each ``<url>`` or ``<sitemap>`` with expat, streaming.

    expat is what ``xml.etree`` runs on; used directly it can be told to stop at a DTD.
    """

    def __init__(self) -> None:
        self.root: str | None = None
        self.urls: list[str] = []
        self._path: list[str] = []
        self._text: list[str] | None = None

    def parse(self, xml: bytes) -> None:
        # Namespaced names arrive as "URI local"; a sitemap's namespace is not checked,
        # since real sitemaps get it wrong often enough.
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._refuse_dtd
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._characters
        parser.Parse(xml, True)

    def _refuse_dtd(self, *_: object) -> None:
        raise SitemapError("a sitemap with a DTD (<!DOCTYPE>) is refused: it needs none")

    def _start(self, name: str, _attributes: object) -> None:
        local = name.rpartition(" ")[2]
        if self.root is None:
            self.root = local
        self._path.append(local)
        if len(self._path) > _MAX_DEPTH:
            raise SitemapError(f"elements nested deeper than {_MAX_DEPTH} levels")
        if local == "loc" and len(self._path) == 3:  # urlset/url/loc, sitemapindex/sitemap/loc
            self._text = []

    def _characters(self, text: str) -> None:
        if self._text is not None:
            self._text.append(text)

    def _end(self, _name: str) -> None:
        if self._text is not None:
            url = "".join(self._text).strip()
            self._text = None
            if url and len(self.urls) < MAX_SITEMAP_URLS:
                self.urls.append(url)
        self._path.pop()
