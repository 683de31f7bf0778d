"""Regimes: which law applies to a request, decided from a geo header the site trusts.

``mode`` applies to everyone unless ``geo_header`` names the header a CDN or proxy
sets and ``regions`` maps some regions to another mode; a subdivision rule
(``US-CA``) beats its country's rule (``US``). The header is never read unless the
policy names it, since any client can send any header to a server reached directly.

Everything a request needs is built once per region and cached: resolving a request
is one dictionary look-up on the raw header value, and the permits of a regime are
built once (for an undecided visitor) or once per consent token (``Reading.views``).
"""

from __future__ import annotations

from ..enforcement.consent_cookie import Reading
from ..enforcement.permit import Permit
from ..enforcement.verdicts import Verdicts
from ..policy.policy import Policy
from ..policy.regions import lookup_order, read_region
from ..policy.state import Mode

# Header values and regions are client-chosen when the site is reached without its
# CDN: keep both caches bounded.
_CACHE_SIZE = 4096
_VIEWS_PER_READING = 8


class Regime:
    """One (mode, region): the permit it gives each kind of visitor."""

    __slots__ = ("mode", "policy", "region", "undecided", "undecided_gpc", "verdicts")

    def __init__(self, policy: Policy, mode: Mode, region: str | None, verdicts: Verdicts):
        self.policy = policy
        self.verdicts = verdicts
        self.mode: Mode = mode
        self.region = region
        # Before a choice: opt-in grants nothing optional; Sec-GPC: 1 refuses more.
        self.undecided = self._undecided(gpc=False)
        self.undecided_gpc = self._undecided(gpc=True)

    def _undecided(self, *, gpc: bool, consent_id: str | None = None) -> Permit:
        state = self.policy.undecided(
            gpc=gpc, consent_id=consent_id, mode=self.mode, region=self.region
        )
        return Permit(state, self.verdicts.allowed(self.policy.mask_of(state.granted)))

    def first_visit(self, gpc: bool) -> Permit:
        """A visitor without a valid consent cookie."""
        return self.undecided_gpc if gpc else self.undecided

    def outdated(self, reading: Reading, gpc: bool) -> Permit:
        """A visitor whose choice is outdated: undecided again, with the same consent id.

        After a ``revision`` bump every returning visitor takes this path until they
        choose again, so each permit is built once per token.
        """
        key = (self, gpc)
        permit = reading.views.get(key)
        if permit is None:
            permit = self._undecided(gpc=gpc, consent_id=reading.consent_id)
            _remember(reading, key, permit)
        return permit

    def current(self, reading: Reading, permit: Permit) -> Permit:
        """A visitor's current ``permit`` under this regime: their choice, with this
        request's mode and region in the state (what passes does not change)."""
        permit_here = reading.views.get(self)
        if permit_here is None:
            state = permit.state
            regional = self.policy.decided(
                self.policy.mask_of(state.granted),
                consent_id=state.consent_id or "",
                issued_at=state.issued_at or 0,
                mode=self.mode,
                region=self.region,
            )
            permit_here = Permit(regional, permit.allowed)
            _remember(reading, self, permit_here)
        return permit_here


def _remember(reading: Reading, key: object, permit: Permit) -> None:
    if len(reading.views) >= _VIEWS_PER_READING:
        reading.views.clear()  # one visitor rarely moves between more regions than this
    reading.views[key] = permit


class Regimes:
    """Resolves a request's regime from the trusted geo header(s)."""

    def __init__(self, policy: Policy, verdicts: Verdicts) -> None:
        config = policy.config
        self.policy = policy
        self.verdicts = verdicts
        # Header names as ASGI gives them (lower-case bytes); None when not trusted.
        self.header = config.geo_header.encode() if config.geo_header else None
        self.subdivision_header = (
            config.geo_subdivision_header.encode() if config.geo_subdivision_header else None
        )
        self.default = Regime(policy, config.mode, None, verdicts)
        self._rules = dict(config.regions)
        self._by_value: dict[bytes, Regime] = {}
        self._by_region: dict[str, Regime] = {}

    def of(self, country: bytes | None, subdivision: bytes | None) -> Regime:
        """The regime of a request whose geo headers say ``country`` and ``subdivision``
        (``None`` when absent or not trusted)."""
        if country is None:
            return self.default
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
            regime = Regime(self.policy, mode, region, self.verdicts)
            if len(self._by_region) >= _CACHE_SIZE:
                self._by_region.clear()
            self._by_region[region] = regime
        return regime
