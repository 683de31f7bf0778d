"""The policy file as frozen pydantic models, and the loader that reports errors by line.

Every value that will end up in an HTTP header (cookie names, paths, domains) is
validated here, once, so that the middleware can emit it without re-checking.
"""

from __future__ import annotations

import datetime
import difflib
import re
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    ValidationError,
    field_validator,
    model_validator,
)

from ..errors import ConfigError
from .banner_settings import BUILTIN_LANGUAGES, BannerSettings
from .catalogue import load_catalogue
from .csp_settings import CspSettings, Host
from .regions import validate_region
from .state import Mode
from .yamlsource import Location, SourceMap, document_location, load_yaml, parse_yaml, render_key

MAX_CATEGORIES = 32
# RFC 6265 token characters; "*" doubles as the glob wildcard in declarations.
# Every pattern here is used with ``fullmatch``: ``$`` would accept a trailing newline.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CATEGORY_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_PATH = re.compile(r"/[\x21-\x3a\x3c-\x7e]*")  # printable ASCII, no ";" and no spaces
_DOMAIN = re.compile(
    r"\.?(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?")
_ENDPOINT = re.compile(r"(/[A-Za-z0-9._~-]+)+")
# pydantic's lax mode would turn true into 1, "30" into 30 and 'no' into False without a
# word: every switch and number of the file is strict (StrictBool, StrictCount, StrictInt,
# StrictFloat, which takes an integer too), so text where one belongs is refused.
StrictCount = Annotated[int, Field(strict=True)]
# The hard cap on how long a choice lasts: 13 months, the CNIL's longest lifetime.
MAX_DAYS = 395
# Globs that share their literal prefix and suffix and differ only in the middle
# (``v_*_1_*``, ``v_*_2_*``) are all tried, in order, on every name with that prefix and
# suffix (policy/registry.py): bounded, so that a look-up stays near constant.
MAX_GLOBS_PER_SHAPE = 32


def _cookie_name(value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise ValueError(
            "a cookie name may hold only letters, digits and !#$%&'*+-.^_`|~ "
            "(no spaces, quotes, '=', ';' or ','); use '*' as a wildcard"
        )
    if len(value) > 256:
        raise ValueError("a cookie name must be at most 256 characters")
    return value


def _path(value: str) -> str:
    if len(value) > 1024 or not _PATH.fullmatch(value):
        raise ValueError(
            "a path must start with '/' and hold only printable ASCII without spaces or ';'"
        )
    return value


def _domain(value: str | None) -> str | None:
    if value is not None and not _DOMAIN.fullmatch(value):
        raise ValueError(
            "a domain must be a host name such as 'example.com' or '.example.com' "
            "(letters, digits, '-' and '.'; no scheme, port, ';' or spaces)"
        )
    return value.lower() if value is not None else None


CookieName = Annotated[str, AfterValidator(_cookie_name)]
CookiePath = Annotated[str, AfterValidator(_path)]
CookieDomain = Annotated[str | None, AfterValidator(_domain)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CookieDeclaration(_Model):
    """One cookie (or a family of cookies, by ``*`` glob) of a category."""

    name: CookieName
    description: str = ""
    duration: str = ""
    provider: str = ""
    domain: CookieDomain = None
    path: CookiePath = "/"
    partitioned: StrictBool = False
    # The catalogue service this declaration came from (``services:`` fills it in); shown
    # by ``consent check``, never enforced.
    service: str | None = None

    @field_validator("service")
    @classmethod
    def _known_service(cls, value: str | None) -> str | None:
        if value is not None and load_catalogue().by_id(value) is None:
            raise ValueError(_unknown_service(value))
        return value

    @property
    def is_glob(self) -> bool:
        return "*" in self.name

    @model_validator(mode="after")
    def _host_prefix(self) -> CookieDeclaration:
        # Browsers refuse a __Host- cookie with a Domain or another Path, so such a
        # declaration could never be set, nor deleted when consent is withdrawn.
        if self.name.startswith("__Host-") and (self.domain is not None or self.path != "/"):
            raise _LocatedValueError(
                ("domain",) if self.domain is not None else ("path",),
                "a __Host- cookie always has path '/' and no domain; remove this key",
            )
        return self


class Category(_Model):
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    required: StrictBool = False
    # Services of the catalogue (policy/catalogue.yaml) this category holds: each adds its
    # first-party cookies to ``cookies`` and its hosts to ``hosts`` (see _expand_services).
    services: tuple[str, ...] = ()
    cookies: tuple[CookieDeclaration, ...] = ()
    # Third-party hosts this category loads from; the consent-driven CSP (signals/csp.py) lets
    # the browser reach them only once the category is granted.
    hosts: tuple[Host, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _expand_services(cls, data: Any) -> Any:
        """Add the cookies and hosts of the ``services:`` the category names.

        Done before validation, so that what a service brings is checked like anything
        written by hand. What the file declares itself comes first and wins: a cookie of
        the service that the category already declares is not added twice. Cookies the
        catalogue ties to another site's domain (``fr`` on facebook.com) are left out: a
        browser never sends them to this site, so there is nothing here to enforce.
        """
        if not isinstance(data, dict) or not data.get("services"):
            return data
        services = data["services"]
        if not isinstance(services, list):
            return data  # the field's own validation names the problem
        catalogue = load_catalogue()
        cookies = list(data.get("cookies") or [])
        hosts = list(data.get("hosts") or [])
        declared = {c.get("name") for c in cookies if isinstance(c, dict)}
        for index, service_id in enumerate(services):
            service = catalogue.by_id(service_id) if isinstance(service_id, str) else None
            if service is None:
                raise _LocatedValueError(("services", index), _unknown_service(service_id))
            if service_id in services[:index]:
                raise _LocatedValueError(("services", index), f"{service_id!r} is listed twice")
            for pattern in service.cookies:
                if pattern.domain is None and pattern.name not in declared:
                    declared.add(pattern.name)
                    cookies.append(
                        {
                            "name": pattern.name,
                            "description": service.description,
                            "duration": service.duration,
                            "provider": service.provider,
                            "service": service.id,
                        }
                    )
            hosts += [h for h in service.all_hosts if h not in hosts]
        return {**data, "cookies": cookies, "hosts": hosts}


def _declaration_location(category_name: str, category: Category, index: int) -> Location:
    """Where the file says cookie ``index`` of a category: its ``name``, or, for a cookie a
    service brought, that service's entry in ``services``."""
    service = category.cookies[index].service
    if service is not None and service in category.services:
        return ("categories", category_name, "services", category.services.index(service))
    return ("categories", category_name, "cookies", index, "name")


def _unknown_service(service_id: object) -> str:
    ids = [service.id for service in load_catalogue().services]
    near = difflib.get_close_matches(str(service_id), ids, n=3)
    hint = f"; did you mean {', '.join(map(repr, near))}?" if near else ""
    return (
        f"unknown service {service_id!r}{hint} The services are the ids of "
        "consent/policy/catalogue.yaml (docs/scan.md#the-service-catalogue)"
    )


class ConsentCookieSettings(_Model):
    """The consent cookie itself: always allowed, written only after a choice."""

    name: CookieName = "consent"
    max_age_days: StrictCount = Field(default=180, ge=1, le=MAX_DAYS)
    # Re-consent (docs/reconsent.md): each defaults to max_age_days.
    accept_days: StrictCount | None = Field(default=None, ge=1, le=MAX_DAYS)
    refuse_days: StrictCount | None = Field(default=None, ge=1, le=MAX_DAYS)
    secure: StrictBool | Literal["auto"] = "auto"
    domain: CookieDomain = None

    @field_validator("secure", mode="before")
    @classmethod
    def _secure_choice(cls, value: Any) -> Any:
        # Checked before the union so that the message names all three choices.
        if value is True or value is False or value == "auto":
            return value
        raise ValueError("secure must be true, false or auto")

    @field_validator("name")
    @classmethod
    def _no_glob(cls, value: str) -> str:
        if "*" in value:
            raise ValueError("the consent cookie name cannot be a glob")
        if value.startswith(("__Host-", "__Secure-")):
            raise ValueError(
                "leave out the __Host-/__Secure- prefix: it is added for you over https"
            )
        return value


def _endpoint(value: str) -> str:
    value = value.rstrip("/")
    if (
        not value
        or not _ENDPOINT.fullmatch(value)
        or any(segment.strip(".") == "" for segment in value[1:].split("/"))
    ):
        raise ValueError(
            "the endpoint must be a path such as '/consent' "
            "(letters, digits, '.', '_', '~', '-' between slashes; not '/', '.' or '..')"
        )
    return value


def _origin(value: str) -> str:
    # Browsers send origins in lower case; compare like with like.
    value = value.rstrip("/").lower()
    if not _ORIGIN.fullmatch(value):
        raise ValueError("an origin looks like 'https://example.com' or 'http://localhost:8000'")
    return value


_TABLE_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


class RecordsSettings(_Model):
    """Proof of consent (``records:``); ``records: false`` turns recording off.

    ``url`` falls back to ``CONSENT_RECORDS_URL``, then to the SQLite file
    ``consent-records.db`` in the working directory (see docs/records.md).
    """

    enabled: StrictBool = True
    url: str | None = Field(default=None, min_length=1, max_length=2048)
    # YAML 1.1 reads a bare `off` as false: accept it as the word it was meant to be.
    ip: Annotated[
        Literal["off", "truncate"], BeforeValidator(lambda v: "off" if v is False else v)
    ] = "off"
    table_prefix: str = "consent_"
    spool: str | None = Field(default=None, min_length=1, max_length=4096)
    timeout_seconds: StrictFloat = Field(default=3.0, gt=0, le=60)

    @field_validator("table_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _TABLE_PREFIX.match(value):
            raise ValueError(
                "a table prefix starts with a lower-case letter and holds only a-z, 0-9 and '_' "
                "(at most 31 characters)"
            )
        return value


def _records(value: Any) -> Any:
    # `records: false` / `records: true` are shorthands for the whole section.
    if isinstance(value, bool):
        return {"enabled": value}
    return value


# -- regimes, GPC and re-consent (docs/regimes.md, docs/gpc.md, docs/reconsent.md) --

_TEXTS_HASH = re.compile(r"[a-z]{8}")
_DATE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")


def _header_name(value: str) -> str:
    if not _TOKEN.fullmatch(value) or "*" in value or len(value) > 64:
        raise ValueError("a header name such as 'CF-IPCountry' (letters, digits and '-')")
    return value.lower()  # ASGI servers give header names in lower case


def _texts_hash(value: str) -> str:
    if not _TEXTS_HASH.fullmatch(value):
        raise ValueError(
            "a texts hash is 8 lower-case letters, as `consent check` prints it (e.g. 'kqzrbmwe')"
        )
    return value


def _date(value: str) -> str:
    if not _DATE.fullmatch(value):
        raise ValueError('a date is written as "YYYY-MM-DD", in quotes')
    try:
        datetime.date.fromisoformat(value)  # the shape allows 2024-02-30: the calendar does not
    except ValueError:
        raise ValueError(f"{value!r} is not a day of the calendar") from None
    return value


HeaderName = Annotated[str, AfterValidator(_header_name)]
RegionCode = Annotated[str, AfterValidator(validate_region)]
TextsHash = Annotated[str, AfterValidator(_texts_hash)]


class OptOutSettings(_Model):
    """What "Do not sell or share" refuses in opt-out regions, and its wording."""

    text: str = Field(
        default="Do not sell or share my personal information", min_length=1, max_length=200
    )
    categories: tuple[str, ...] | None = None


class TextFix(_Model):
    """Texts with hash ``old`` count as the texts with hash ``new``: no new consent."""

    old: TextsHash
    new: TextsHash


class PolicyConfig(_Model):
    """The whole policy file. Field order follows the documented file."""

    revision: StrictCount = Field(default=1, ge=0, le=10**9)
    text_fixes: tuple[TextFix, ...] = ()
    endpoint: Annotated[str, AfterValidator(_endpoint)] = "/consent"
    undeclared: Literal["block", "allow"] = "block"
    # Where the middleware keeps the undeclared names it saw (enforcement/undeclared.py),
    # for `consent scan --undeclared`; null: noted in memory and logged only.
    undeclared_notes: str | None = Field(default=None, min_length=1, max_length=4096)
    mode: Mode = "opt-in"
    geo_header: HeaderName | None = None
    geo_subdivision_header: HeaderName | None = None
    regions: dict[RegionCode, Mode] = Field(default_factory=dict)
    opt_out: OptOutSettings = OptOutSettings()
    gpc: StrictBool = True
    gpc_refuses: tuple[str, ...] | None = None
    gpc_last_update: Annotated[str, AfterValidator(_date)] | None = None
    trusted_origins: tuple[Annotated[str, AfterValidator(_origin)], ...] = ()
    cookie: ConsentCookieSettings = ConsentCookieSettings()
    records: Annotated[RecordsSettings, BeforeValidator(_records)] = RecordsSettings()
    csp: CspSettings = CspSettings()  # consent-driven Content-Security-Policy (signals/csp.py)
    categories: dict[str, Category]
    banner: BannerSettings = BannerSettings()

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: dict[str, Category]) -> dict[str, Category]:
        if not value:
            raise ValueError("declare at least one category (for example 'necessary')")
        if len(value) > MAX_CATEGORIES:
            raise ValueError(f"at most {MAX_CATEGORIES} categories are supported")
        for name in value:
            if not _CATEGORY_NAME.fullmatch(name):
                raise _LocatedValueError(
                    (name,),
                    f"category name {name!r} must start with a lower-case letter and hold only "
                    "a-z, 0-9, '_' and '-' (at most 32 characters)",
                )
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> PolicyConfig:
        own = self.cookie.name
        # Reserved: the middleware writes its cookie under the plain name over http and
        # under __Host- (or __Secure- with a domain) over https; a declaration may not
        # take any of them, whichever the settings pick today.
        own_names = {own, f"__Host-{own}", f"__Secure-{own}"}
        seen: dict[str, str] = {}
        middles: dict[tuple[str, str], int] = {}  # globs with middle pieces per shape
        for category_name, category in self.categories.items():
            for index, cookie in enumerate(category.cookies):
                loc = _declaration_location(category_name, category, index)
                prefix, *middle, suffix = cookie.name.split("*") if cookie.is_glob else ("", "")
                if any(middle):
                    shape = (prefix, suffix)
                    middles[shape] = middles.get(shape, 0) + 1
                    if middles[shape] > MAX_GLOBS_PER_SHAPE:
                        raise _LocatedValueError(
                            loc,
                            f"glob {cookie.name!r} is number {middles[shape]} to start with "
                            f"{prefix!r} and end with {suffix!r}, differing only in the middle; "
                            f"at most {MAX_GLOBS_PER_SHAPE} may (each is tried on every such "
                            "name): give them distinct prefixes or suffixes",
                        )
                if cookie.name in seen:
                    kind = "glob" if cookie.is_glob else "cookie"
                    brought = f" (brought by service {cookie.service!r})" if cookie.service else ""
                    raise _LocatedValueError(
                        loc,
                        f"{kind} {cookie.name!r}{brought} is declared twice (also in category "
                        f"{seen[cookie.name]!r}); a cookie belongs to exactly one category",
                    )
                if cookie.name in own_names:
                    raise _LocatedValueError(
                        loc,
                        f"{cookie.name!r} is the consent cookie's own name; choose another "
                        "name or change 'cookie.name'",
                    )
                seen[cookie.name] = category_name
        return self

    @model_validator(mode="after")
    def _banner_categories(self) -> PolicyConfig:
        banner = self.banner
        for language, texts in banner.texts.items():
            for name in texts.categories:
                if name not in self.categories:
                    raise _LocatedValueError(
                        ("banner", "texts", language, "categories", name),
                        f"no category {name!r} in 'categories'; translate only declared ones",
                    )
        # A language must have texts: built in, or given under banner.texts.
        offered: list[tuple[Location, str]] = [(("default_language",), banner.default_language)]
        offered += [(("languages", i), code) for i, code in enumerate(banner.languages or ())]
        for key, language in offered:
            if language not in BUILTIN_LANGUAGES and language not in banner.texts:
                raise _LocatedValueError(
                    ("banner", *key),
                    f"no texts for language {language!r}: the built-in ones are "
                    f"{', '.join(BUILTIN_LANGUAGES)}; add banner.texts.{language}",
                )
        if "mapping" in banner.consent_mode.model_fields_set:
            for name in banner.consent_mode.mapping:
                if name not in self.categories:
                    raise _LocatedValueError(
                        ("banner", "consent_mode", "mapping", name),
                        f"no category {name!r} in 'categories'; map only declared ones",
                    )
        return self

    @model_validator(mode="after")
    def _signals(self) -> PolicyConfig:
        lists: tuple[tuple[Location, tuple[str, ...] | None], ...] = (
            (("opt_out", "categories"), self.opt_out.categories),
            (("gpc_refuses",), self.gpc_refuses),
        )
        for where, names in lists:
            for index, name in enumerate(names or ()):
                category = self.categories.get(name)
                if category is None or category.required:
                    why = "is required: it cannot be refused" if category else "is not declared"
                    raise _LocatedValueError(
                        (*where, index),
                        f"category {name!r} {why}; list optional categories of this file",
                    )
        if self.geo_header is None and (self.regions or self.geo_subdivision_header):
            key = "regions" if self.regions else "geo_subdivision_header"
            raise _LocatedValueError(
                (key,),
                "set 'geo_header' to the header your CDN or proxy sets (e.g. CF-IPCountry): "
                "without a trusted header every visitor gets 'mode'",
            )
        uses_opt_out = self.mode == "opt-out" or "opt-out" in self.regions.values()
        if uses_opt_out and not self.opt_out_categories:
            raise _LocatedValueError(
                ("opt_out",),
                "opt-out mode needs the categories that 'Do not sell or share' refuses: "
                "declare an 'advertisement' category or set 'opt_out.categories'",
            )
        return self

    @property
    def opt_out_categories(self) -> tuple[str, ...]:
        """What "Do not sell or share" refuses: as listed, else ``advertisement`` if declared."""
        if self.opt_out.categories is not None:
            return self.opt_out.categories
        return ("advertisement",) if "advertisement" in self.categories else ()

    @property
    def gpc_categories(self) -> tuple[str, ...]:
        """What ``Sec-GPC: 1`` refuses outside opt-in: as listed, else as opt-out does."""
        return self.opt_out_categories if self.gpc_refuses is None else self.gpc_refuses


class _LocatedValueError(ValueError):
    """A validator error that knows which key it is about.

    ``loc`` is absolute when it starts with ``"categories"``, else relative to the
    place pydantic reports.
    """

    def __init__(self, loc: Location, message: str) -> None:
        super().__init__(message)
        self.loc = loc


def config_from_data(data: Any, source: SourceMap, *, file: str) -> PolicyConfig:
    if not isinstance(data, dict):
        raise ConfigError(
            "the file must be a mapping with at least a 'categories' key", file=file, line=1
        )
    try:
        return PolicyConfig.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, data, source, file) from None


def _config_error(
    exc: ValidationError, data: dict[str, Any], source: SourceMap, file: str
) -> ConfigError:
    error = exc.errors(include_url=False)[0]
    loc = document_location(tuple(error["loc"]), data, missing=error["type"] == "missing")
    ctx = error.get("ctx") or {}
    original = ctx.get("error")
    if isinstance(original, _LocatedValueError):
        loc = original.loc if original.loc[0] == "categories" else (*loc, *original.loc)
        message = str(original)
    else:
        message = _describe(error, loc)
    return ConfigError(message, file=file, key=render_key(loc) or None, line=source.line_of(loc))


def _shapes(annotation: Any) -> list[Any]:
    """The types a field may hold: ``X | None`` is ``[X, None]``, metadata dropped."""
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        return [shape for arg in get_args(annotation) for shape in _shapes(arg)]
    if origin is Annotated:
        return _shapes(get_args(annotation)[0])
    return [annotation]


def _model_at(loc: Location) -> type[BaseModel] | None:
    """The model whose key ``loc`` names, found by following the field types from the top.

    Derived from the models, so that a new section's unknown keys list that section's keys.
    """
    shapes: list[Any] = [PolicyConfig]
    for part in loc[:-1]:
        inner: list[Any] = []
        for shape in shapes:
            origin = get_origin(shape)
            if isinstance(shape, type) and issubclass(shape, BaseModel):
                field = shape.model_fields.get(str(part))
                if field is not None:
                    inner += _shapes(field.annotation)
            elif origin is dict and isinstance(part, str):
                inner += _shapes(get_args(shape)[1])  # a name of the file's choosing
            elif origin in (tuple, list) and isinstance(part, int):
                inner += _shapes(get_args(shape)[0])
        shapes = inner
    for shape in shapes:
        if isinstance(shape, type) and issubclass(shape, BaseModel):
            return shape
    return None


def _unknown_key(loc: Location) -> str:
    model = _model_at(loc)
    if model is None:  # pragma: no cover - pydantic reports extra keys of models only
        return "unknown key"
    known = list(model.model_fields)
    message = "unknown key"
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    return f"{message} (keys allowed here: {', '.join(known)})"


def _describe(error: Any, loc: Location) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind == "missing":
        return "this key is required"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if "input" in error and kind != "value_error":
        shown = repr(error["input"])
        if len(shown) > 60:
            shown = shown[:57] + "..."
        message += f" (got {shown})"
    return message


def load_config(path: str | Path) -> PolicyConfig:
    data, source = load_yaml(path)
    return config_from_data(data, source, file=str(path))


def config_from_string(text: str, *, file: str = "<string>") -> PolicyConfig:
    data, source = parse_yaml(text, file=file)
    return config_from_data(data, source, file=file)
