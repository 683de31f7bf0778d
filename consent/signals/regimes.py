"""Regimes: which law applies to a request, decided from a geo header the site trusts.

``mode`` applies to everyone unless ``geo_header`` names the header a CDN or proxy
sets and ``regions`` maps some regions to another mode; a subdivision rule
(``US-CA``) beats its country's rule (``US``). The header is never read unless the
policy names it, since any client can send any header to a server reached directly.

Everything a request needs is built once per region and cached: resolving a request
is one dictionary look-up on the raw header value.
"""

from __future__ import annotations

from ..policy.policy import Policy
from ..policy.regions import lookup_order, read_region
from ..policy.state import ConsentState, Mode

# Header values and regions are client-chosen when the site is reached without its
# CDN: keep both caches bounded.
_CACHE_SIZE = 4096
_VIEWS_PER_DECISION = 8


class Regime:
    """One (mode, region): its undecided states and what they let through."""

    __slots__ = ("allowed", "allowed_gpc", "mode", "policy", "region", "undecided", "undecided_gpc")

    def __init__(self, policy: Policy, mode: Mode, region: str | None, always: int) -> None:
        self.policy = policy
        self.mode: Mode = mode
        self.region = region
        self.undecided = policy.undecided(mode=mode, region=region)
        self.undecided_gpc = policy.undecided(gpc=True, mode=mode, region=region)
        # ``always``: the middleware's own bits (its cookie, undeclared under "allow").
        self.allowed = policy.mask_of(self.undecided.granted) | always
        self.allowed_gpc = policy.mask_of(self.undecided_gpc.granted) | always

    def stale(self, state: ConsentState, gpc: bool, views: Views) -> ConsentState:
        """Undecided again (outdated token), keeping the visitor's pseudonymous id.

        ``views`` lives with the cached token: after a ``revision`` bump every returning
        visitor takes this path until they choose again, so build each state once.
        """
        key = (self, gpc)
        seen = views.get(key)
        if seen is None:
            seen = self.policy.undecided(
                gpc=gpc, consent_id=state.consent_id, mode=self.mode, region=self.region
            )
            _remember(views, key, seen)
        return seen

    def view(self, state: ConsentState) -> ConsentState:
        """A decided ``state`` as seen under this regime (its choice, this mode and region).

        Not cached here: the middleware keeps the latest one with the cached token, since
        a visitor's requests nearly always come from one region.
        """
        return self.policy.decided(
            self.policy.mask_of(state.granted),
            consent_id=state.consent_id or "",
            issued_at=state.issued_at or 0,
            mode=self.mode,
            region=self.region,
        )


# The undecided states of one outdated token, per regime and signal.
Views = dict[tuple[Regime, bool], ConsentState]


def _remember(views: Views, key: tuple[Regime, bool], state: ConsentState) -> None:
    if len(views) >= _VIEWS_PER_DECISION:
        views.clear()  # one visitor rarely moves between more regions than this
    views[key] = state


class Regimes:
    """Resolves a request's regime from the trusted geo header(s)."""

    def __init__(self, policy: Policy, *, always: int) -> None:
        config = policy.config
        self.policy = policy
        self.always = always
        # Header names as ASGI gives them (lower-case bytes); None when not trusted.
        self.header = config.geo_header.encode() if config.geo_header else None
        self.subdivision_header = (
            config.geo_subdivision_header.encode() if config.geo_subdivision_header else None
        )
        self.default = Regime(policy, config.mode, None, always)
        self._rules = dict(config.regions)
        self._by_value: dict[bytes, Regime] = {}
        self._by_region: dict[str, Regime] = {}

    def resolve(self, country: bytes, subdivision: bytes | None) -> Regime:
        """The regime for a request whose geo header says ``country`` (without that
        header the middleware takes ``default`` directly)."""
        key = country if subdivision is None else country + b"\n" + subdivision
        regime = self._by_value.get(key)
        if regime is None:
            regime = self._resolve(country, subdivision)
            if len(self._by_value) >= _CACHE_SIZE:
                self._by_value.clear()
            self._by_value[key] = regime
        return regime

    def _resolve(self, country: bytes, subdivision: bytes | None) -> Regime:
        region = read_region(country, subdivision)
        if region is None:
            return self.default  # unknown or malformed: the default mode applies
        regime = self._by_region.get(region)
        if regime is None:
            mode = next(
                (self._rules[code] for code in lookup_order(region) if code in self._rules),
                self.policy.config.mode,
            )
            regime = Regime(self.policy, mode, region, self.always)
            if len(self._by_region) >= _CACHE_SIZE:
                self._by_region.clear()
            self._by_region[region] = regime
        return regime
