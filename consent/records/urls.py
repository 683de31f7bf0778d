"""From the ``records:`` settings to an async SQLAlchemy URL and a spool file."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ..errors import ConfigError
from ..policy.config import RecordsSettings

RECORDS_URL_ENV = "CONSENT_RECORDS_URL"
DEFAULT_URL = "sqlite:///consent-records.db"
DEFAULT_SPOOL = "consent-records.spool.jsonl"
_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def configured_url(settings: RecordsSettings) -> str:
    """The file's ``url``, else ``CONSENT_RECORDS_URL``, else the SQLite default."""
    return settings.url or os.environ.get(RECORDS_URL_ENV, "").strip() or DEFAULT_URL


def async_url(text: str) -> URL:
    """Map plain ``sqlite://`` and ``postgresql://`` URLs to their asyncio drivers."""
    try:
        url = make_url(text)
    except ArgumentError:
        raise ConfigError(
            f"{_redact(text)!r} is not a database URL; use for example "
            "'sqlite:///records.db' or 'postgresql://user@host/db'",
            key="records.url",
        ) from None
    # Parsed by hand: asking SQLAlchemy would load (and fail on) the dialect.
    backend, _, driver = url.drivername.partition("+")
    if backend == "postgres":
        backend = "postgresql"
    wanted = _DRIVERS.get(backend)
    if wanted is None:
        raise ConfigError(
            f"records can be kept in SQLite or PostgreSQL, not {backend!r}", key="records.url"
        )
    if driver and driver not in ("aiosqlite", "asyncpg"):
        raise ConfigError(
            f"the {driver!r} driver is not asynchronous; drop it from the URL "
            f"({wanted.split('+')[0]}://...) and {wanted.split('+')[1]} is used",
            key="records.url",
        )
    url = url.set(drivername=wanted)
    if backend == "sqlite" and url.database in (None, "", ":memory:"):
        raise ConfigError(
            "records need a SQLite file, not an in-memory database: "
            "use 'sqlite:///path/records.db'",
            key="records.url",
        )
    return url


def spool_path(settings: RecordsSettings, url: URL) -> Path:
    """Where refusals wait while the store is down: configured, else beside the SQLite file."""
    if settings.spool:
        return Path(settings.spool)
    if url.get_backend_name() == "sqlite" and url.database:
        return Path(url.database + ".spool.jsonl")
    return Path(DEFAULT_SPOOL)


def _redact(text: str) -> str:
    scheme, sep, rest = text.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rpartition("@")[2]
    return scheme + sep + rest
