"""Server-enforced cookie consent for ASGI apps.

The sub-packages follow the flow of a request, each importing only from those before it:
``policy`` (the YAML file, validated and compiled) → ``enforcement`` (cookies, the signed
consent token, what may pass on the way in and out) → ``signals`` (regimes, Global
Privacy Control, the consent CSP) → ``records`` (proof of consent) → ``endpoints`` (the
consent endpoints) → ``banner`` (what the visitor sees). ``middleware`` puts them
together as ``ConsentMiddleware``. docs/enforcement.md walks through it.
"""

from importlib.metadata import PackageNotFoundError, version

from .dependencies import consent_from_scope, get_consent
from .errors import ConfigError, ConsentError, RequestError
from .middleware import ConsentMiddleware
from .policy.config import PolicyConfig
from .policy.policy import Policy, load_policy, policy_from_string
from .policy.state import ConsentState
from .signals.csp import csp_nonce

# The package is published as asgi-cookie-consent (the name "consent" was taken on PyPI).
DISTRIBUTION = "asgi-cookie-consent"


def _installed_version(distribution: str = DISTRIBUTION) -> str:
    """The version pyproject.toml gave the installed distribution: one source of truth."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        # Imported from a checkout that was never installed (no metadata to read).
        return "0+unknown"


__version__ = _installed_version()

__all__ = [
    "ConfigError",
    "ConsentError",
    "ConsentMiddleware",
    "ConsentState",
    "Policy",
    "PolicyConfig",
    "RequestError",
    "__version__",
    "consent_from_scope",
    "csp_nonce",
    "get_consent",
    "load_policy",
    "policy_from_string",
]
