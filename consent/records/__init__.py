"""Proof of consent: a hash-chained record of every decision, on the site's own database.

The endpoints call :meth:`Recorder.record` where a choice is applied; the
middleware builds the recorder and runs it through the ASGI lifespan. See
docs/records.md.
"""

from __future__ import annotations

from ..policy.config import RecordsSettings
from ..policy.policy import Policy
from .chain import Head, Verdict, verify
from .model import Decision, StoredRecord
from .recorder import Recorder, truncate_ip
from .store import Store, StoreUnavailable

# Served under the policy's endpoint: GET {endpoint}/receipt.
RECEIPT_PATH = "/receipt"


def receipt_url(policy: Policy) -> str:
    """Where a visitor reads their own records (the banner's preference centre links here)."""
    return policy.config.endpoint + RECEIPT_PATH


def build_recorder(settings: RecordsSettings, policy: Policy) -> Recorder | None:
    """The recorder for ``settings``, or ``None`` when ``records: false``."""
    return Recorder(settings, policy) if settings.enabled else None


__all__ = [
    "RECEIPT_PATH",
    "Decision",
    "Head",
    "Recorder",
    "Store",
    "StoreUnavailable",
    "StoredRecord",
    "Verdict",
    "build_recorder",
    "receipt_url",
    "truncate_ip",
    "verify",
]
