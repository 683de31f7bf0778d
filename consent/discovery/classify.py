"""Classification: what a cookie, storage key or host is, and where that knowledge comes from.

Each answer is a ``Match`` that names its source; the first source that knows wins:

1. ``policy``: the site's own declaration (a cookie's category, a category's ``hosts``).
   It still carries the service and provider the catalogue knows, so a report can say
   what the declared cookie is; it is marked for review when the policy makes a cookie
   required that the catalogue files under a category needing consent.
2. ``catalogue``: the project's service catalogue (``catalogue``); ``service`` is the
   service's id, the name a policy's ``services:`` takes.
3. ``open-cookie-database``: the user's copy of the Open Cookie Database (``cookiedb``),
   when there is one; cookies and storage keys only, it lists no script hosts.
4. ``heuristic``: for a cookie no source knows, a guess from its name, always marked for
   review. It guesses little on purpose, and only "necessary", for names that exist to
   keep a session, block forged requests or store a consent choice: a word of the name
   (letters and digits between other characters) beginning with ``sess`` or ending in
   ``sessid`` or ``sessionid`` (Rails' ``_shop_session``, CodeIgniter's ``ci_session``,
   ``app-sessid``; not ``risk_assessment`` nor ``obsession``), ``csrf`` or ``xsrf``
   anywhere, a word containing ``consent``. Any other unknown name gets no match at all:
   "unknown" is more honest than a guessed category.
"""

from __future__ import annotations

import re

from ..policy.catalogue import Catalogue, Hit
from ..policy.hostnames import HostTable
from ..policy.policy import Policy
from .cookiedb import CookieDatabase
from .model import Match

_WORDS = re.compile(r"[a-z0-9]+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_PORT = re.compile(r":(?:[0-9]+|\*)$")


class Classifier:
    """Answers ``aggregate``'s questions from the policy (or ``None`` when the site has
    none yet), the service catalogue and the Open Cookie Database (or ``None``)."""

    def __init__(
        self, policy: Policy | None, catalogue: Catalogue, cookie_db: CookieDatabase | None
    ) -> None:
        self.policy = policy
        self.catalogue = catalogue
        self.cookie_db = cookie_db
        # The categories of the policy's CSP hosts; the first to list a host wins, as the
        # first glob does.
        self._policy_hosts: HostTable[str] = HostTable()
        if policy is not None:
            for name, category in policy.config.categories.items():
                for source in category.hosts:
                    self._policy_hosts.add(_PORT.sub("", _SCHEME.sub("", source)), name)

    def declared(self, name: str) -> str | None:
        """The category the policy declares cookie ``name`` in; ``None`` when it does not."""
        return self.policy.category_of(name) if self.policy is not None else None

    def cookie(self, name: str, domain: str | None) -> Match | None:
        """Cookie ``name`` on ``domain`` (as the browser stores it; ``None`` when unknown)."""
        known = self.catalogue.cookie(name, domain)
        if self.policy is not None:
            declared = self.policy.declaration_of(name)
            if declared is not None:
                category, declaration = declared
                return _policy_match(
                    category,
                    known,
                    required=category in self.policy.required,
                    provider=declaration.provider,
                    description=declaration.description,
                )
        if known is not None:
            return _catalogue_match(known)
        if self.cookie_db is not None:
            found = self.cookie_db.match(name, domain)
            if found is not None:
                return found
        return _guess(name)

    def storage(self, key: str) -> Match | None:
        """A ``localStorage``, ``sessionStorage`` or IndexedDB key."""
        known = self.catalogue.storage(key)
        if known is not None:
            return _catalogue_match(known)
        return self.cookie_db.match(key) if self.cookie_db is not None else None

    def host(self, host: str) -> Match | None:
        """A host the page made requests to."""
        known = self.catalogue.host(host)
        category = self._policy_hosts.find(host)
        if category is not None:
            required = self.policy is not None and category in self.policy.required
            return _policy_match(category, known, required=required)
        return _catalogue_match(known) if known is not None else None


def _catalogue_match(hit: Hit) -> Match:
    service = hit.service
    return Match(
        category=service.category,
        source="catalogue",
        service=service.id,
        provider=service.provider,
        review=hit.review,
        description=service.description,
    )


def _policy_match(
    category: str, known: Hit | None, *, required: bool, provider: str = "", description: str = ""
) -> Match:
    """The policy's category; what the policy file says of the cookie comes first."""
    # A prefix guess of the catalogue (`_hj*`) says too little to name a declared cookie.
    sure = known if known is not None and not known.review else None
    # The one disagreement worth a person's time: the policy lets a cookie through before
    # any choice (a required category) that the catalogue says needs consent.
    doubtful = required and sure is not None and sure.service.category != "necessary"
    return Match(
        category=category,
        source="policy",
        service=sure.service.id if sure is not None else None,
        provider=provider or (sure.service.provider if sure is not None else None),
        review=doubtful,
        description=description or (sure.service.description if sure is not None else ""),
    )


def _guess(name: str) -> Match | None:
    lowered = name.lower()
    words = _WORDS.findall(lowered)
    session = any(
        word.startswith("sess") or word.endswith(("sessid", "sessionid")) for word in words
    )
    forgery = "csrf" in lowered or "xsrf" in lowered
    consent = any("consent" in word for word in words)
    if not (session or forgery or consent):
        return None
    reason = "a session" if session else "a CSRF token" if forgery else "a consent choice"
    return Match(
        category="necessary",
        source="heuristic",
        review=True,
        description=f"Guessed from the name alone: it looks like {reason}.",
    )
