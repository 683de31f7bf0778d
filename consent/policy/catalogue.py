"""The service catalogue: what common services store in a browser and where they load from.

``catalogue.yaml`` (package data, written for this project from the vendors' own
documentation) lists per service its cookies and storage keys, the hosts its scripts and
frames come from, provider, category, typical duration and a one-line description. The
scan classifies with it (``classify``), a policy's ``services:`` expands from it and the
middleware suggests a service for an undeclared cookie name: it is plain data, loaded
without Playwright.

Patterns are exact names or prefixes ending in ``*`` (``_ga_*``); never a substring, and
never a regular expression. A cookie pattern may be bound to a ``domain``: ``fr`` is
Meta's only when the cookie lives on ``facebook.com``, since a site may well have a cookie
of its own called ``fr``.

Every name, key and host has one owner, so a lookup never has to pick between services:
the same exact name (with the same domain), prefix or host in two services is refused at
load. Between *different* patterns the most specific wins: an exact name over a prefix, a
longer prefix over a shorter one, a pattern bound to the cookie's domain over an unbound
one, an exact host over ``*.`` a domain, a longer domain over a shorter one. Hosts that
several services of one provider share (``www.google.com`` serves reCAPTCHA, Maps and
Ads) are listed once, under ``shared_hosts`` of the likeliest service: a match there is
marked for review.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import ConfigError
from .hostnames import HostTable, normalize_host
from .yamlsource import SourceMap, document_location, parse_yaml, render_key

CatalogueCategory = Literal["necessary", "functional", "analytics", "performance", "advertisement"]

# A prefix shorter than this (``_hj*``, ``mp_*``) also catches names the service never set:
# its matches are marked for review.
SHORT_PREFIX = 4

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# RFC 6265 cookie-name token, and a trailing "*" for a prefix.
_COOKIE_PATTERN = re.compile(r"[!#$%&'+\-.^_`|~0-9A-Za-z]+\*?")
# Storage keys may hold almost anything ("rc::a", "ytidb::LAST_RESULT_ENTRY_KEY"): printable
# ASCII without spaces; "*" only as the last character, for a prefix.
_STORAGE_PATTERN = re.compile(r"[\x21-\x29\x2b-\x7e]+\*?")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
# What a CSP host-source accepts too (policy/csp_settings.py), so hosts can go into a policy.
_HOST_PATTERN = re.compile(rf"(?:\*\.)?{_LABEL}(?:\.{_LABEL})+")


def _slug(value: str) -> str:
    if len(value) > 64 or not _SLUG.fullmatch(value):
        raise ValueError("an id is lower-case words joined by '-', e.g. 'google-analytics-4'")
    return value


def _line(value: str) -> str:
    if not value.strip() or value != value.strip() or not value.isprintable():
        raise ValueError("one line of text, not empty, without surrounding spaces")
    return value


def _description(value: str) -> str:
    _line(value)
    if len(value) > 200:
        raise ValueError("a description is one line of at most 200 characters")
    return value


def _pattern(value: str, shape: re.Pattern[str]) -> str:
    if not shape.fullmatch(value) or (value.endswith("*") and len(value) < 3):
        raise ValueError(
            "an exact name, or a prefix of at least 2 characters ending in '*'; "
            "'*' nowhere else, no spaces"
        )
    return value


def _cookie_pattern(value: str) -> str:
    return _pattern(value, _COOKIE_PATTERN)


def _storage_pattern(value: str) -> str:
    return _pattern(value, _STORAGE_PATTERN)


def _domain(value: str) -> str:
    if not _DOMAIN.fullmatch(value):
        raise ValueError("a domain such as 'facebook.com': lower case, no leading dot")
    return value


def _host(value: str) -> str:
    if not _HOST_PATTERN.fullmatch(value):
        raise ValueError(
            "a host such as 'www.example.com', or '*.example.com' for its sub-domains "
            "(not example.com itself): lower case, no scheme, port or path"
        )
    return value


Slug = Annotated[str, AfterValidator(_slug)]
Line = Annotated[str, AfterValidator(_line)]
Description = Annotated[str, AfterValidator(_description)]
StoragePattern = Annotated[str, AfterValidator(_storage_pattern)]
HostPattern = Annotated[str, AfterValidator(_host)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CookiePattern(_Model):
    """One cookie name (``_fbp``) or prefix (``_ga_*``) of a service.

    ``domain``: the pattern counts only for a cookie on that domain or below it (``fr`` on
    ``facebook.com``). ``review``: the pattern is broad enough to catch other software's
    names (``SESS*``), so its matches are marked for review.
    """

    name: Annotated[str, AfterValidator(_cookie_pattern)]
    domain: Annotated[str, AfterValidator(_domain)] | None = None
    review: bool = False


class Service(_Model):
    id: Slug
    name: Line
    provider: Line
    category: CatalogueCategory
    description: Description
    duration: Line
    cookies: tuple[CookiePattern, ...] = ()
    storage: tuple[StoragePattern, ...] = ()
    hosts: tuple[HostPattern, ...] = ()
    # Hosts this service loads from that also serve other services of its provider.
    shared_hosts: tuple[HostPattern, ...] = ()

    @property
    def all_hosts(self) -> tuple[str, ...]:
        """Every host its scripts and frames come from, shared ones included."""
        return (*self.hosts, *self.shared_hosts)

    @field_validator("cookies", mode="before")
    @classmethod
    def _plain_names(cls, value: Any) -> Any:
        # Most entries are just a name; a mapping only where a domain or review is needed.
        if isinstance(value, list):
            return [{"name": item} if isinstance(item, str) else item for item in value]
        return value


class _CatalogueFile(_Model):
    services: tuple[Service, ...] = Field(min_length=1)


class Hit(NamedTuple):
    """What a lookup found: the service, and whether a person should check the match."""

    service: Service
    review: bool


@dataclass(frozen=True, slots=True)
class _Owned:
    service: Service
    domain: str | None = None
    review: bool = False


class _Index:
    """Exact names and ``*`` prefixes of one kind (cookies or storage keys) → their owner."""

    def __init__(self) -> None:
        self.exact: dict[str, list[_Owned]] = {}
        self.prefixes: dict[str, list[_Owned]] = {}
        self.longest = 0

    def add(self, pattern: str, owned: _Owned) -> None:
        table, key = (
            (self.prefixes, pattern[:-1]) if pattern.endswith("*") else (self.exact, pattern)
        )
        entries = table.setdefault(key, [])
        for entry in entries:
            if entry.domain == owned.domain:
                where = f" on {owned.domain}" if owned.domain else ""
                raise ValueError(f"{pattern!r}{where} is already listed by {entry.service.id!r}")
        entries.append(owned)
        # A pattern bound to a domain is more specific than an unbound one: it goes first.
        entries.sort(key=lambda entry: entry.domain is None)
        if table is self.prefixes:
            self.longest = max(self.longest, len(key))

    def find(self, name: str, domain: str | None) -> Hit | None:
        where = normalize_host(domain) if domain else None
        owned = _pick(self.exact.get(name), where)
        if owned is not None:
            return Hit(owned.service, owned.review)
        # Longest prefix first: at most `longest` dictionary probes, whatever the name.
        for length in range(min(len(name), self.longest), 0, -1):
            owned = _pick(self.prefixes.get(name[:length]), where)
            if owned is not None:
                return Hit(owned.service, owned.review or length < SHORT_PREFIX)
        return None


def _pick(entries: list[_Owned] | None, where: str | None) -> _Owned | None:
    """The first entry that applies to a cookie on ``where`` (normalized, or ``None``)."""
    for entry in entries or ():
        if entry.domain is None:
            return entry
        if where is not None and (where == entry.domain or where.endswith("." + entry.domain)):
            return entry
    return None


class Catalogue:
    """The services of a catalogue file, with lookups by id, cookie, storage key and host.

    Build it with :func:`load_catalogue` (the one shipped with the package) or
    :func:`catalogue_from_string`.
    """

    def __init__(self, services: Iterable[Service]) -> None:
        self.services: tuple[Service, ...] = tuple(services)
        self._by_id: dict[str, Service] = {}
        self._cookies = _Index()
        self._storage = _Index()
        self._hosts: HostTable[Hit] = HostTable()
        for service in self.services:
            if service.id in self._by_id:
                raise ValueError(f"the id {service.id!r} is used twice")
            self._by_id[service.id] = service
            for cookie in service.cookies:
                owned = _Owned(service, cookie.domain, cookie.review)
                self._cookies.add(cookie.name, owned)
            for key in service.storage:
                self._storage.add(key, _Owned(service))
            for host in service.hosts:
                self._add_host(host, Hit(service, review=False))
            for host in service.shared_hosts:
                self._add_host(host, Hit(service, review=True))

    def _add_host(self, host: str, hit: Hit) -> None:
        other = self._hosts.get(host)
        if other is not None:
            raise ValueError(f"the host {host!r} is already listed by {other.service.id!r}")
        self._hosts.add(host, hit)

    def by_id(self, service_id: str) -> Service | None:
        return self._by_id.get(service_id)

    def cookie(self, name: str, domain: str | None = None) -> Hit | None:
        """The service that sets cookie ``name``: its exact name first, then the longest
        prefix. ``domain`` (the cookie's, as the browser stores it) is needed to match the
        patterns bound to a domain; without it only unbound ones match."""
        return self._cookies.find(name, domain)

    def storage(self, key: str) -> Hit | None:
        """The service that writes the storage key ``key``: exact, then longest prefix."""
        return self._storage.find(key, None)

    def host(self, host: str) -> Hit | None:
        """The service a request to ``host`` belongs to: the host itself, then ``*.`` its
        parent domains, nearest first (``HostTable``)."""
        return self._hosts.find(host)


BUILTIN = "catalogue.yaml"


def catalogue_from_data(data: Any, source: SourceMap, *, file: str) -> Catalogue:
    try:
        parsed = _CatalogueFile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        missing = error["type"] == "missing"
        loc = document_location(tuple(error["loc"]), data, missing=missing)
        message = str(error["msg"]).removeprefix("Value error, ")
        if missing:
            message = "this key is required"
        raise ConfigError(
            message, file=file, key=render_key(loc) or None, line=source.line_of(loc)
        ) from None
    try:
        return Catalogue(parsed.services)
    except ValueError as exc:
        raise ConfigError(str(exc), file=file) from None


def catalogue_from_string(text: str, *, file: str = "<string>") -> Catalogue:
    """Parse and validate catalogue YAML; a ``ConfigError`` names the key and line at fault."""
    data, source = parse_yaml(text, file=file)
    return catalogue_from_data(data, source, file=file)


@cache
def load_catalogue() -> Catalogue:
    """The catalogue shipped with the package, read and validated once per process."""
    text = resources.files("consent.policy").joinpath(BUILTIN).read_text(encoding="utf-8")
    return catalogue_from_string(text, file=BUILTIN)


def suggestion(name: str) -> str | None:
    """What the catalogue says a first-party cookie ``name`` probably is, in words for a
    log line (``services:`` id included, so the answer can be pasted into the policy);
    None when no service sets it."""
    hit = load_catalogue().cookie(name)
    if hit is None:
        return None
    service = hit.service
    unsure = " (a guess from its prefix: check it)" if hit.review else ""
    return (
        f"{service.name} by {service.provider}, {service.category}{unsure}: "
        f"{service.description} Declare it, or add `services: [{service.id}]` to the "
        f"{service.category} category."
    )
