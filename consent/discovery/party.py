"""First or third party, decided by registrable domain (the public suffix list).

A cookie or request is first party when its host and the site's host share a registrable
domain: ``shop.example.co.uk`` and ``www.example.co.uk`` do (``co.uk`` is a public suffix,
so ``example.co.uk`` is what someone registered), ``evilexample.com`` and ``example.com``
do not. Comparing text (``endswith``, ``in``) gets both wrong. The list's private section
counts too: ``alice.github.io`` and ``bob.github.io`` belong to different people, as
browsers see them.

The list comes from the ``publicsuffixlist`` package (the ``scan`` extra), which ships a
copy and never goes online. It is imported on first use, so that modules importing this
one (the cookie database, the ``consent`` command) load without it.
"""

from __future__ import annotations

import ipaddress
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from ..policy.hostnames import normalize_host
from .model import Party

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList


@cache
def _suffix_list() -> PublicSuffixList:
    try:
        from publicsuffixlist import PublicSuffixList
    except ImportError as exc:
        raise ImportError(
            "telling first from third party needs the publicsuffixlist package: "
            "pip install 'asgi-cookie-consent[scan]'"
        ) from exc
    # Parsing the list takes tens of milliseconds: once per process.
    return PublicSuffixList()


@lru_cache(maxsize=4096)
def registrable_domain(host: str) -> str:
    """The part of ``host`` someone registered: ``a.b.example.co.uk`` → ``example.co.uk``.

    An IP address and ``localhost`` are their own registrable domain. A host with no
    registrable part (a public suffix itself such as ``github.io``, a single label such as
    ``intranet``, a malformed name) is returned whole, so it equals only itself. Raises
    ``ValueError`` for an empty host.
    """
    text = normalize_host(host)
    if not text:
        raise ValueError("an empty host has no registrable domain")
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        pass
    if text == "localhost":
        return text
    domain = _suffix_list().privatesuffix(text)
    return domain if domain is not None else text


def party(host: str, site_host: str) -> Party:
    """``"first"`` when ``host`` and ``site_host`` share a registrable domain, else ``"third"``."""
    same = registrable_domain(host) == registrable_domain(site_host)
    return "first" if same else "third"
