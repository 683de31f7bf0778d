"""What one request may carry: the state the app reads, and the cookies that may pass."""

from __future__ import annotations

from dataclasses import dataclass

from ..policy.state import ConsentState


@dataclass(frozen=True, slots=True)
class Permit:
    """The consent that applies to one request.

    ``state`` is what the app reads (``get_consent``); ``allowed`` is the mask of
    verdict bits (enforcement/verdicts.py) whose cookies may pass, in the request's
    ``Cookie`` header and in the response's ``Set-Cookie``s.

    Permits are built once and shared: two per regime for undecided visitors (with and
    without ``Sec-GPC: 1``), one per verified consent token. Deciding a request
    allocates nothing.
    """

    state: ConsentState
    allowed: int
