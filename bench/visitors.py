"""Visitors with real credentials, obtained over HTTP from the stacks themselves.

A consent token comes from ``POST /consent`` on the very stack that will read it (the
token carries a hash of the policy, so the large and regimes stacks need their own);
a session cookie from the shop's ``/login`` behind ``SessionMiddleware``. Each visitor
has its own values: nothing one visitor sends is another's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx2

from .cookies import COUNTRIES, Jar
from .stacks import CONSENT_STACKS, SESSION_STACKS

VISITORS = 64


@dataclass(frozen=True, slots=True)
class Visitor:
    index: int
    jar: Jar
    country: str  # what the CDN in front of the site says (CF-IPCountry)
    # Per stack, the credential as the browser sends it back: "consent=…" or "session=…".
    credentials: Mapping[str, str]

    def credential(self, stack: str) -> str:
        try:
            return self.credentials[stack]
        except KeyError:
            raise RuntimeError(f"visitor {self.index} has no credential for {stack}") from None


def _cookie_pair(response: httpx2.Response, name: str) -> str:
    """``name=value`` of the response's ``Set-Cookie`` for ``name``, as a browser returns it."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header.split(";", 1)[0]
    raise RuntimeError(
        f"{response.request.method} {response.request.url.path} answered "
        f"{response.status_code} without a {name} cookie"
    )


def consent_token(client: httpx2.Client, country: str) -> str:
    """A new visitor who accepts everything: a POST without a consent cookie."""
    client.cookies.clear()  # never send an earlier visitor's cookie back
    response = client.post(
        "/consent", json={"action": "accept_all"}, headers={"CF-IPCountry": country}
    )
    client.cookies.clear()
    return _cookie_pair(response, "consent")


def session_cookie(client: httpx2.Client, index: int) -> str:
    client.cookies.clear()
    response = client.get("/login", params={"user": index})
    client.cookies.clear()
    return _cookie_pair(response, "session")


def credential(stack: str, client: httpx2.Client, index: int, country: str) -> str:
    if stack in CONSENT_STACKS:
        return consent_token(client, country)
    if stack in SESSION_STACKS:
        return session_cookie(client, index)
    raise ValueError(f"the {stack} stack issues no credential")


def obtain(clients: Mapping[str, httpx2.Client], count: int = VISITORS) -> list[Visitor]:
    """``count`` visitors, each with a credential from every stack in ``clients``."""
    visitors = []
    for index in range(count):
        country = COUNTRIES[index % len(COUNTRIES)]
        credentials = {
            stack: credential(stack, client, index, country) for stack, client in clients.items()
        }
        visitors.append(Visitor(index, Jar.make(index), country, credentials))
    return visitors
