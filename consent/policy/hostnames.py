"""Host names as they are compared: by the service catalogue, the scan and the policy."""

from __future__ import annotations

import contextlib
from typing import Generic, TypeVar

T = TypeVar("T")


def normalize_host(host: str) -> str:
    """``host`` as compared: lower case, no leading dot (a cookie's ``Domain``), no trailing
    dot (a fully qualified name), no IPv6 brackets, internationalized names in their ASCII
    (``xn--``) form as browsers send them."""
    text = host.strip().lower().lstrip(".").rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not text.isascii():
        # An invalid name stays as written: it can only equal itself.
        with contextlib.suppress(UnicodeError):
            text = text.encode("idna").decode("ascii")
    return text


class HostTable(Generic[T]):
    """Values by host pattern: ``www.example.com`` (that host) or ``*.example.com`` (any
    sub-domain, not ``example.com`` itself, as in a Content-Security-Policy).

    :meth:`find` answers the host itself first, then its parent domains, nearest first.
    Labels are whole: ``*.stripe.com`` takes ``js.stripe.com``, never ``notstripe.com``.
    The service catalogue and the scan's reading of a policy's ``hosts`` share it.
    """

    def __init__(self) -> None:
        self._exact: dict[str, T] = {}
        self._domains: dict[str, T] = {}  # "*.example.com" kept as "example.com"

    def get(self, pattern: str) -> T | None:
        """The value stored under ``pattern`` itself (written as it was added)."""
        table, key = self._slot(pattern)
        return table.get(key)

    def add(self, pattern: str, value: T) -> None:
        """Store ``value`` under ``pattern`` (normalised), unless a value is there already:
        the first one added wins."""
        table, key = self._slot(pattern)
        table.setdefault(key, value)

    def find(self, host: str) -> T | None:
        name = normalize_host(host)
        value = self._exact.get(name)
        if value is not None:
            return value
        labels = name.split(".")
        for start in range(1, len(labels) - 1):
            value = self._domains.get(".".join(labels[start:]))
            if value is not None:
                return value
        return None

    def _slot(self, pattern: str) -> tuple[dict[str, T], str]:
        if pattern.startswith("*."):
            return self._domains, normalize_host(pattern[2:])
        return self._exact, normalize_host(pattern)
