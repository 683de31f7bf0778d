"""Whether the app sets a declared cookie in the scope its declaration gives it.

A withdrawal deletes a cookie with ``Set-Cookie``s that must name the Domain and Path it
was set with, and the server cannot see those in a request. The middleware expires every
scope a cookie may carry (enforcement/verdicts.py), but a declaration that differs from
what the app really does is a mistake in the file: the app's ``Set-Cookie``s that pass
(the only ones a browser keeps) are checked against it, and the first difference for
each name is logged once, on the ``consent`` logger.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..policy.config import CookieDeclaration
from ..policy.hostnames import normalize_host

log = logging.getLogger("consent")
# Names are checked until one differs; glob declarations can match many names, so the
# names already warned about are bounded like the verdict cache.
MAX_WARNED = 1024
MAX_CHECKED = 1024


@dataclass(frozen=True, slots=True)
class DeclaredScope:
    """A declared cookie's name, Domain (lower case, no leading dot; ``None``:
    host-only) and Path, as the browser compares them."""

    name: str
    domain: bytes | None
    path: bytes

    @classmethod
    def of(cls, name: str, declaration: CookieDeclaration) -> DeclaredScope:
        domain = normalize_host(declaration.domain).encode() if declaration.domain else None
        return cls(name, domain, declaration.path.encode())

    def difference(self, set_cookie: bytes) -> str | None:
        """How a ``Set-Cookie`` of this name differs from the declaration, or ``None``.

        Attributes are read as RFC 6265 section 5.2 reads them: names in any case, the
        last one wins, an empty Domain means host-only, a Path that does not start with
        ``/`` is no Path (the browser then uses the page's directory).
        """
        domain: bytes | None = None
        path: bytes | None = None
        for attribute in set_cookie.split(b";")[1:]:
            key, _, value = attribute.partition(b"=")
            key = key.strip().lower()
            if key == b"domain":
                domain = value.strip().lower().lstrip(b".") or None
            elif key == b"path":
                value = value.strip()
                path = value if value.startswith(b"/") else None
        problems = []
        if domain != self.domain:
            declared = f"Domain={self.domain.decode()}" if self.domain else "host-only"
            sent = f"Domain={domain.decode('latin-1')}" if domain else "host-only"
            problems.append(f"{sent} where the policy declares {declared}")
        if path != self.path:
            sent = f"Path={path.decode('latin-1')}" if path else "no Path"
            problems.append(f"{sent} where the policy declares Path={self.path.decode()}")
        return "; ".join(problems) or None


class ScopeWarnings:
    """Logs, once per name, a ``Set-Cookie`` whose scope differs from its declaration.

    An app sends the same attributes for a name again and again (an ``Expires`` changes
    once a second): the attribute text last read for each name is kept, and a
    ``Set-Cookie`` that ends with the same text is not read again. A page pays a search
    for ``;`` and a comparison per declared ``Set-Cookie``, not a parse.
    """

    def __init__(self) -> None:
        self.warned: set[str] = set()
        self._last_read: dict[str, bytes] = {}  # name -> its attributes, from the first ";"

    def check(self, scope: DeclaredScope, set_cookie: bytes) -> None:
        name = scope.name
        cut = set_cookie.find(b";")
        if cut < 0:
            cut = len(set_cookie)
        last = self._last_read.get(name)
        if last is not None and len(set_cookie) - cut == len(last) and set_cookie.endswith(last):
            return  # the attributes last read for this name, again
        if name in self.warned:
            return
        if len(self._last_read) >= MAX_CHECKED:
            self._last_read.clear()  # names matched by globs: stay bounded
        self._last_read[name] = set_cookie[cut:]
        difference = scope.difference(set_cookie)
        if difference is not None and len(self.warned) < MAX_WARNED:
            self.warned.add(name)
            log.warning(
                "the app sets cookie %r with %s. A withdrawal expires it in the declared "
                "scope, host-only and under Path=/ only: make its declaration (domain:, "
                "path:) say what the app does.",
                name,
                difference,
            )
