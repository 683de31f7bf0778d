"""The policy file as frozen pydantic models, and the loader that reports errors by line.

Every value that will end up in an HTTP header (cookie names, paths, domains) is
validated here, once, so that the middleware can emit it without re-checking.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .banner_config import BUILTIN_LANGUAGES, BannerSettings
from .errors import ConfigError
from .yamlsource import Location, SourceMap, load_yaml, parse_yaml, render_key

STANDARD_CATEGORIES = ("necessary", "functional", "analytics", "performance", "advertisement")
MAX_CATEGORIES = 32
# RFC 6265 token characters; "*" doubles as the glob wildcard in declarations.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_CATEGORY_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_PATH = re.compile(r"^/[\x21-\x3a\x3c-\x7e]*$")  # printable ASCII, no ";" and no spaces
_DOMAIN = re.compile(
    r"^\.?(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?$")


def _cookie_name(value: str) -> str:
    if not _TOKEN.match(value):
        raise ValueError(
            "a cookie name may hold only letters, digits and !#$%&'*+-.^_`|~ "
            "(no spaces, quotes, '=', ';' or ','); use '*' as a wildcard"
        )
    if len(value) > 256:
        raise ValueError("a cookie name must be at most 256 characters")
    return value


def _path(value: str) -> str:
    if len(value) > 1024 or not _PATH.match(value):
        raise ValueError(
            "a path must start with '/' and hold only printable ASCII without spaces or ';'"
        )
    return value


def _domain(value: str | None) -> str | None:
    if value is not None and not _DOMAIN.match(value):
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
    partitioned: bool = False

    @property
    def is_glob(self) -> bool:
        return "*" in self.name


class Category(_Model):
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    required: bool = False
    cookies: tuple[CookieDeclaration, ...] = ()


class ConsentCookieSettings(_Model):
    """The consent cookie itself: always allowed, written only after a choice."""

    name: CookieName = "consent"
    max_age_days: int = Field(default=180, ge=1, le=395)
    secure: bool | Literal["auto"] = "auto"
    domain: CookieDomain = None

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
    if not value or not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", value):
        raise ValueError(
            "the endpoint must be a path such as '/consent' "
            "(letters, digits, '.', '_', '~', '-' between slashes, not '/')"
        )
    return value


def _origin(value: str) -> str:
    value = value.rstrip("/")
    if not _ORIGIN.match(value):
        raise ValueError("an origin looks like 'https://example.com' or 'http://localhost:8000'")
    return value.lower()


class PolicyConfig(_Model):
    """The whole policy file. Field order follows the documented file."""

    revision: int = Field(default=1, ge=0, le=10**9)
    endpoint: Annotated[str, AfterValidator(_endpoint)] = "/consent"
    undeclared: Literal["block", "allow"] = "block"
    gpc: bool = True
    trusted_origins: tuple[Annotated[str, AfterValidator(_origin)], ...] = ()
    cookie: ConsentCookieSettings = ConsentCookieSettings()
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
            if not _CATEGORY_NAME.match(name):
                raise ValueError(
                    f"category name {name!r} must start with a lower-case letter and hold only "
                    "a-z, 0-9, '_' and '-' (at most 32 characters)"
                )
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> PolicyConfig:
        seen: dict[str, str] = {}
        for category_name, category in self.categories.items():
            for index, cookie in enumerate(category.cookies):
                loc = f"categories.{category_name}.cookies[{index}].name"
                if cookie.name in seen and not cookie.is_glob:
                    raise _LocatedValueError(
                        loc,
                        f"cookie {cookie.name!r} is declared twice (also in category "
                        f"{seen[cookie.name]!r}); a cookie belongs to exactly one category",
                    )
                if cookie.name == self.cookie.name:
                    raise _LocatedValueError(
                        loc,
                        f"{cookie.name!r} is the consent cookie's own name; choose another "
                        "name or change 'cookie.name'",
                    )
                seen.setdefault(cookie.name, category_name)
        return self

    @model_validator(mode="after")
    def _banner_categories(self) -> PolicyConfig:
        banner = self.banner
        for language, texts in banner.texts.items():
            for name in texts.categories:
                if name not in self.categories:
                    raise _LocatedValueError(
                        f"banner.texts.{language}.categories.{name}",
                        f"no category {name!r} in 'categories'; translate only declared ones",
                    )
        # A language must have texts: built in, or given under banner.texts.
        offered = [("default_language", banner.default_language)]
        offered += [(f"languages[{i}]", code) for i, code in enumerate(banner.languages or ())]
        for key, language in offered:
            if language not in BUILTIN_LANGUAGES and language not in banner.texts:
                raise _LocatedValueError(
                    f"banner.{key}",
                    f"no texts for language {language!r}: the built-in ones are "
                    f"{', '.join(BUILTIN_LANGUAGES)}; add banner.texts.{language}",
                )
        if "mapping" in banner.consent_mode.model_fields_set:
            for name in banner.consent_mode.mapping:
                if name not in self.categories:
                    raise _LocatedValueError(
                        f"banner.consent_mode.mapping.{name}",
                        f"no category {name!r} in 'categories'; map only declared ones",
                    )
        return self


class _LocatedValueError(ValueError):
    """A model-level error that knows which key it is about."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def config_from_data(data: Any, source: SourceMap, *, file: str) -> PolicyConfig:
    if not isinstance(data, dict):
        raise ConfigError(
            "the file must be a mapping with at least a 'categories' key", file=file, line=1
        )
    try:
        return PolicyConfig.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, source, file) from None


def _config_error(exc: ValidationError, source: SourceMap, file: str) -> ConfigError:
    error = exc.errors(include_url=False)[0]
    loc: Location = tuple(error["loc"])
    ctx = error.get("ctx") or {}
    original = ctx.get("error")
    if isinstance(original, _LocatedValueError):
        parts: list[str | int] = []
        for piece in re.findall(r"[^.\[\]]+|\[\d+\]", original.key):
            parts.append(int(piece[1:-1]) if piece.startswith("[") else piece)
        loc = tuple(parts)
        message = str(original)
    else:
        message = _describe(error)
    # pydantic appends the union member or validator name to loc in some cases.
    loc = tuple(
        p for p in loc if not (isinstance(p, str) and p.startswith(("function-", "literal[")))
    )
    return ConfigError(message, file=file, key=render_key(loc) or None, line=source.line_of(loc))


def _describe(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key; check its spelling against the configuration reference"
    if kind == "missing":
        return "this key is required"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if "input" in error and kind != "value_error":
        message += f" (got {error['input']!r})"
    return message


def load_config(path: str | Path) -> PolicyConfig:
    data, source = load_yaml(path)
    return config_from_data(data, source, file=str(path))


def config_from_string(text: str, *, file: str = "<string>") -> PolicyConfig:
    data, source = parse_yaml(text, file=file)
    return config_from_data(data, source, file=file)
