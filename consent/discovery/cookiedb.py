"""The Open Cookie Database: a user's copy, read, looked up and kept up to date.

The Open Cookie Database (jkwakman/Open-Cookie-Database on GitHub, Apache-2.0) is a
community list of some 2,000 cookie and storage names with their platform, category and
controller. It is not shipped with this package: ``consent cookie-db update`` downloads
the CSV into the user's cache directory, ``--cookie-db FILE`` points at another copy, and
the scan uses whichever exists. Its descriptions are shown as the user's copy says.

Lookups, most specific first, never by substring: the exact name on the same registrable
domain as the cookie, then the exact name, then the longest prefix of at least
``MIN_PREFIX`` characters among the rows marked "Wildcard match" (their name is a prefix
written without ``*``: ``_gac_`` stands for ``_gac_1234``).

Its categories map onto the policy's: Marketing → advertisement, Analytics → analytics,
Security and Necessary → necessary, Functional and Personalization → functional. A match
is marked for review when a person should check it: a prefix match; Functional, since the
database files session, load-balancing and CSRF cookies (strictly necessary) under it too;
Personalization and any category it may add later, which have no sure counterpart; an
exact name listed by several platforms, or listed for another domain than the cookie's.
"""

from __future__ import annotations

import contextlib
import csv
import http.client
import io
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .. import DISTRIBUTION, __version__
from ..errors import ConsentError
from .model import Match
from .party import registrable_domain

SOURCE_URL = (
    "https://raw.githubusercontent.com/jkwakman/Open-Cookie-Database/master/"
    "open-cookie-database.csv"
)
FILE_NAME = "open-cookie-database.csv"
# The real file is about 0.6 MB; a copy fifty times larger is not that file.
MAX_BYTES = 32 * 1024 * 1024
MIN_PREFIX = 4

PLATFORM = "Platform"
CATEGORY = "Category"
NAME = "Cookie / Data Key name"
DOMAIN = "Domain"
DESCRIPTION = "Description"
RETENTION = "Retention period"
CONTROLLER = "Data Controller"
WILDCARD = "Wildcard match"
REQUIRED_COLUMNS = (PLATFORM, CATEGORY, NAME, DOMAIN, DESCRIPTION, RETENTION, CONTROLLER, WILDCARD)

# The database's category (lower case) → the policy's category, and whether that is unsure.
_CATEGORIES: dict[str, tuple[str, bool]] = {
    "marketing": ("advertisement", False),
    "analytics": ("analytics", False),
    "security": ("necessary", False),
    "necessary": ("necessary", False),
    "functional": ("functional", True),
    "personalization": ("functional", True),
}
# An unknown category is never taken for necessary: it needs consent until a person decides.
_UNKNOWN_CATEGORY = ("functional", True)


class CookieDatabaseError(ConsentError, ValueError):
    """A copy of the Open Cookie Database cannot be read, downloaded or written.

    ``file`` is the path or URL concerned.
    """

    def __init__(self, message: str, *, file: str) -> None:
        self.message = message
        self.file = file
        super().__init__(f"{file}: {message}")


@dataclass(frozen=True, slots=True)
class CookieRecord:
    """One row of the database. ``domains`` are the host names its Domain column gives
    (lower case, without the "(3rd party)" notes); ``wildcard``: ``name`` is a prefix."""

    platform: str
    category: str
    name: str
    domains: tuple[str, ...]
    description: str
    retention: str
    controller: str
    wildcard: bool


def map_category(category: str) -> tuple[str, bool]:
    """The policy category for a database category, and whether the mapping is unsure."""
    return _CATEGORIES.get(category.strip().lower(), _UNKNOWN_CATEGORY)


class CookieDatabase:
    """The rows of one copy, indexed by exact name and by prefix.

    ``skipped`` counts the rows that could not be read (a wrong number of fields, no name,
    a Wildcard match that is neither 0 nor 1); ``source`` is the file or URL read.
    """

    def __init__(self, records: Iterable[CookieRecord], *, source: str, skipped: int = 0) -> None:
        self.records: tuple[CookieRecord, ...] = tuple(records)
        self.source = source
        self.skipped = skipped
        self._exact: dict[str, list[CookieRecord]] = {}
        self._prefixes: dict[str, list[CookieRecord]] = {}
        for record in self.records:
            self._exact.setdefault(record.name, []).append(record)
            if record.wildcard and len(record.name) >= MIN_PREFIX:
                self._prefixes.setdefault(record.name, []).append(record)
        self._longest = max(map(len, self._prefixes), default=0)

    def __len__(self) -> int:
        return len(self.records)

    def match(self, name: str, domain: str | None = None) -> Match | None:
        """What the database says of cookie (or storage key) ``name``; ``domain`` is the
        cookie's, as the browser stores it, or ``None`` when unknown."""
        site = _registrable(domain)
        exact = self._exact.get(name)
        if exact:
            for record in exact:
                if site is not None and site in _registrable_domains(record):
                    return _match(record, review=False)
            general = [record for record in exact if not record.domains]
            record = (general or exact)[0]
            several = len({row.platform for row in exact}) > 1
            elsewhere = site is not None and bool(record.domains)
            return _match(record, review=several or elsewhere)
        for length in range(min(len(name), self._longest), MIN_PREFIX - 1, -1):
            rows = self._prefixes.get(name[:length])
            if rows:
                same = [
                    row for row in rows if site is not None and site in _registrable_domains(row)
                ]
                return _match((same or rows)[0], review=True)
        return None


def _registrable(domain: str | None) -> str | None:
    if domain is None or not domain.strip(". "):
        return None
    return registrable_domain(domain)


def _registrable_domains(record: CookieRecord) -> set[str]:
    return {registrable_domain(domain) for domain in record.domains}


def _match(record: CookieRecord, *, review: bool) -> Match:
    category, unsure = map_category(record.category)
    return Match(
        category=category,
        source="open-cookie-database",
        service=record.platform or None,
        provider=record.controller or None,
        review=review or unsure,
        description=" ".join(record.description.split()),
    )


# -- reading -------------------------------------------------------------------------------


def _domains(text: str) -> tuple[str, ...]:
    """``".bing.com (3rd party) or .microsoft.com"`` → ``("bing.com", "microsoft.com")``."""
    kept = []
    cleaned = text.replace("\u200b", "").replace(",", " ")
    while "(" in cleaned and ")" in cleaned.split("(", 1)[1]:
        before, rest = cleaned.split("(", 1)
        cleaned = before + " " + rest.split(")", 1)[1]
    for word in cleaned.split():
        host = word.strip(".").lower()
        if host != "or" and "." in host:
            kept.append(host)
    return tuple(kept)


def parse_cookie_db(text: str, *, source: str) -> CookieDatabase:
    """Read the CSV text of the database. Rows that cannot be read are skipped and counted;
    text that is not this CSV at all (no header with its columns) is a
    :class:`CookieDatabaseError` naming ``source``."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = [column.strip() for column in next(reader)]
    except StopIteration:
        raise CookieDatabaseError("the file is empty", file=source) from None
    except csv.Error as exc:
        raise CookieDatabaseError(f"not a CSV file ({exc})", file=source) from None
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise CookieDatabaseError(
            "this is not the Open Cookie Database CSV: its first line lacks the column(s) "
            + ", ".join(repr(column) for column in missing),
            file=source,
        )
    at = {column: header.index(column) for column in REQUIRED_COLUMNS}
    records: list[CookieRecord] = []
    skipped = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:  # an oversized field: that row is lost, the reader goes on
            skipped += 1
            continue
        if not row:
            continue  # a blank line
        record = _record(row, at, len(header))
        if record is None:
            skipped += 1
        else:
            records.append(record)
    return CookieDatabase(records, source=source, skipped=skipped)


def _record(row: list[str], at: dict[str, int], width: int) -> CookieRecord | None:
    name = row[at[NAME]].strip() if len(row) == width else ""
    wildcard = row[at[WILDCARD]].strip() if name else ""
    if wildcard not in ("0", "1"):
        return None
    return CookieRecord(
        platform=row[at[PLATFORM]].strip(),
        category=row[at[CATEGORY]].strip(),
        name=name,
        domains=_domains(row[at[DOMAIN]]),
        description=row[at[DESCRIPTION]].strip(),
        retention=row[at[RETENTION]].strip(),
        controller=row[at[CONTROLLER]].strip(),
        wildcard=wildcard == "1",
    )


def _decode(raw: bytes) -> str:
    # A stray byte in one description must not cost the whole file; a file that is not
    # text fails the header check instead.
    return raw.decode("utf-8-sig", errors="replace")


def read_cookie_db(path: str | Path) -> CookieDatabase:
    """Read a copy of the database; a :class:`CookieDatabaseError` names the file at fault."""
    file = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise CookieDatabaseError(f"cannot read it: {exc.strerror or exc}", file=file) from None
    if len(raw) > MAX_BYTES:
        raise CookieDatabaseError(
            f"larger than {MAX_BYTES} bytes: not the Open Cookie Database", file=file
        )
    return parse_cookie_db(_decode(raw), source=file)


def default_cookie_db_path() -> Path:
    """Where ``consent cookie-db update`` keeps the copy: the user's cache directory."""
    try:
        from platformdirs import user_cache_dir
    except ImportError:
        raise CookieDatabaseError(
            "finding the user cache directory needs the platformdirs package: "
            "pip install 'asgi-cookie-consent[scan]'",
            file=FILE_NAME,
        ) from None
    return Path(user_cache_dir(DISTRIBUTION)) / FILE_NAME


def load_cookie_db(path: str | Path | None = None) -> CookieDatabase | None:
    """The database at ``path``, or at :func:`default_cookie_db_path` when ``path`` is
    ``None``; ``None`` when there is no copy there. A file given by path must exist."""
    if path is None:
        path = default_cookie_db_path()
        if not path.exists():
            return None
    return read_cookie_db(path)


# -- downloading ---------------------------------------------------------------------------


def update_cookie_db(
    url: str = SOURCE_URL, path: str | Path | None = None, *, timeout: float = 60.0
) -> CookieDatabase:
    """Download the CSV from ``url`` and put it at ``path`` (default: the user cache).

    The download must read as the database before it replaces the copy in place, and the
    replacement is atomic: a failed or bad download leaves the old copy as it was.
    """
    target = Path(path) if path is not None else default_cookie_db_path()
    raw = _download(url, timeout)
    database = parse_cookie_db(_decode(raw), source=url)
    if not database.records or database.skipped > len(database.records):
        raise CookieDatabaseError(
            f"rows read: {len(database.records)}, unreadable: {database.skipped}; "
            "not a usable copy of the database, the one in place is kept",
            file=url,
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(target, raw)
    except OSError as exc:
        raise CookieDatabaseError(
            f"cannot write it: {exc.strerror or exc}", file=str(target)
        ) from None
    return CookieDatabase(database.records, source=str(target), skipped=database.skipped)


def _download(url: str, timeout: float) -> bytes:
    # urllib also opens file:// and ftp:// URLs; a download is http(s) only.
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise CookieDatabaseError("only http:// and https:// URLs can be downloaded", file=url)
    agent = {"User-Agent": f"{DISTRIBUTION}/{__version__}"}
    request = urllib.request.Request(url, headers=agent)  # noqa: S310 - the scheme is checked
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - as above
            raw: bytes = response.read(MAX_BYTES + 1)
            # A read of so many bytes returns what came before the connection closed, short
            # or not; http.client counts down what Content-Length promised.
            if response.length:
                raise http.client.IncompleteRead(raw, response.length)
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the response, and with it the connection
        raise CookieDatabaseError(
            f"download failed: HTTP {exc.code} {exc.reason}", file=url
        ) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # URLError (no such host, refused, timed out) is an OSError; a connection cut
        # short of its Content-Length is an IncompleteRead (HTTPException).
        reason = getattr(exc, "reason", None) or exc
        raise CookieDatabaseError(f"download failed: {reason}", file=url) from None
    if len(raw) > MAX_BYTES:
        raise CookieDatabaseError(
            f"larger than {MAX_BYTES} bytes: not the Open Cookie Database", file=url
        )
    return raw


def _write_atomically(target: Path, data: bytes) -> None:
    # A temporary file in the same directory, then one rename: readers see the old copy or
    # the new one, never half of one.
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part"
    )
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
