"""One error tree for everything the library raises on purpose.

Like itsdangerous' ``BadData`` family, every error carries the context a caller
needs to act on it as attributes, not only in the message.
"""

from __future__ import annotations


class ConsentError(Exception):
    """Base class of every error raised by ``consent``."""


class ConfigError(ConsentError, ValueError):
    """The policy file (or a setting) is invalid.

    ``file``, ``key`` (a dotted path such as ``categories.analytics.cookies[0].name``)
    and ``line`` (1-based) say where; each may be ``None`` when it does not apply.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.key = key
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
        elif self.line is not None:
            where = f"line {self.line}"
        parts = [p for p in (where, self.key) if p]
        prefix = ": ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class RequestError(ConsentError):
    """A request to the consent endpoints was refused; ``status`` is the HTTP status.

    ``allow`` lists the methods the path accepts, for a 405's ``Allow`` header.
    """

    def __init__(self, status: int, message: str, *, allow: str | None = None) -> None:
        self.status = status
        self.message = message
        self.allow = allow
        super().__init__(f"{status}: {message}")


class MiddlewareNotInstalled(ConsentError, LookupError):
    """``get_consent`` was called for a request that did not pass ``ConsentMiddleware``."""
