"""What each cookie name means to the middleware, worked out once per name.

Every name gets one bit: the bit of the category that declares it (``1 << index`` in
file order), or one of four bits of our own just above the categories:

- ``undeclared``: no declaration matches the name (or it has none);
- ``own_plain`` and ``own_secure``: our consent cookie, under its plain name and under
  its ``__Host-``/``__Secure-`` name (a verdict object each, ``Verdicts.own``, so that
  reading a request finds the one its scheme asks for by identity);
- ``truncated``: not a name, a note that a request's ``Cookie`` header went past the
  parsing bounds; never allowed, so that such a header is always rebuilt from the
  pieces that were read.

What may pass is then a mask of bits (``Verdicts.allowed``), and "may this cookie pass"
is one ``&``. Names are client-chosen: the cache is bounded, and a name seen for the first
time costs one registry look-up (consent/policy/registry.py), which does not grow with
the number of declarations.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..policy.config import CookieDeclaration
from ..policy.policy import Policy
from ..policy.registry import Entry
from .cookies import consent_cookie_names, expire_cookie, name_before_equals
from .scopes import DeclaredScope, ScopeWarnings

CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class Verdict:
    """One cookie name's bit; for a declared name that is safe to echo into a header,
    the ``Set-Cookie``s that delete it and the scope its declaration gives it (empty and
    ``None`` when the name is ours or undeclared)."""

    bit: int
    expiries: tuple[bytes, ...] = ()
    scope: DeclaredScope | None = None


@dataclass(frozen=True, slots=True)
class Bits:
    """Where our own bits sit, right above the policy's categories."""

    undeclared: int
    own_plain: int
    own_secure: int
    truncated: int
    # Allowed in every state: our cookie under either name, and undeclared cookies when
    # the file says ``undeclared: allow`` (then treated as required).
    always: int

    @classmethod
    def for_policy(cls, policy: Policy) -> Bits:
        top = len(policy.category_names)
        undeclared = 1 << top
        own = (1 << (top + 1)) | (1 << (top + 2))
        allow_undeclared = undeclared if policy.config.undeclared == "allow" else 0
        return cls(
            undeclared=undeclared,
            own_plain=1 << (top + 1),
            own_secure=1 << (top + 2),
            truncated=1 << (top + 3),
            always=own | allow_undeclared,
        )


class Verdicts:
    """The verdict of every cookie name, keyed by the raw text before its first ``=``.

    The raw text (spaces and all) is the key because the name is a function of it:
    one dictionary probe per cookie replaces parsing each one. Request pieces and
    ``Set-Cookie`` values share the cache.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.bits = Bits.for_policy(policy)
        cookie = policy.config.cookie
        plain_name, secure_name = consent_cookie_names(cookie.name, cookie.domain)
        # Our cookie's verdict on each scheme (by ``secure``), and by its two names.
        self.own = {
            False: Verdict(self.bits.own_plain),
            True: Verdict(self.bits.own_secure),
        }
        self._own_names = {
            plain_name.encode(): self.own[False],
            secure_name.encode(): self.own[True],
        }
        # One shared verdict for every name no declaration matches and for nameless
        # cookies (no "=" at all): never-seen names allocate nothing.
        self.nameless = self.undeclared = Verdict(self.bits.undeclared)
        # Read it directly where every cookie counts (``known.get(raw) or learn(raw)``);
        # only ``learn`` writes to it.
        self.known: dict[bytes, Verdict] = {}
        self.scope_warnings = ScopeWarnings()

    def learn(self, raw: bytes) -> Verdict:
        """Work out the verdict of a name not in ``known``, and remember it.

        Every never-seen name a client sends comes through here, so it is one registry
        look-up and no allocation for an undeclared name.
        """
        name = name_before_equals(raw)
        verdict = self._own_names.get(name)
        if verdict is None:
            entry = self.policy.registry.lookup_latin1(name) if name else None
            if entry is None:
                verdict = self.undeclared
            else:
                verdict = self._declared(name.decode("latin-1"), entry)
        if len(self.known) >= CACHE_SIZE:
            self.known.clear()  # names are client-chosen: stay bounded
        self.known[raw] = verdict
        return verdict

    def _declared(self, name: str, entry: Entry) -> Verdict:
        """The verdict of a name the policy declares: its category's bit, and how to
        delete it (only a name that is safe to echo into a header gets deleted)."""
        category, declaration = self.policy.declarations[entry.declaration]
        bit = self.policy.bit(category)
        if not self.policy.is_safe_cookie_name(name):
            return Verdict(bit)
        return Verdict(bit, expiries(name, declaration), DeclaredScope.of(name, declaration))

    def allowed(self, granted_mask: int) -> int:
        """The bits that may pass when the categories of ``granted_mask`` are granted."""
        return granted_mask | self.policy.required_mask | self.bits.always


def expiries(name: str, declaration: CookieDeclaration) -> tuple[bytes, ...]:
    """The ``Set-Cookie``s that delete ``name`` in every scope it may have been set in.

    A browser deletes a cookie only with the Domain and Path it was set with, and a
    request's ``Cookie`` header does not say which those were. The app may have set it
    host-only where the file declares a Domain, or under ``/`` where it declares a Path
    (rule 4): expire the declared scope first, then host-only and ``/``. (A ``__Host-``
    declaration has no Domain and Path ``/``: the config refuses anything else.)
    """
    return tuple(
        expire_cookie(name, path=path, domain=domain, partitioned=declaration.partitioned)
        for path in dict.fromkeys((declaration.path, "/"))
        for domain in dict.fromkeys((declaration.domain, None))
    )
