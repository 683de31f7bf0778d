"""Host names as they are compared: by the service catalogue, the scan and the policy."""

from __future__ import annotations

import contextlib


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
