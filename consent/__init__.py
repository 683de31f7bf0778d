"""Server-enforced cookie consent for ASGI apps."""

from .config import PolicyConfig
from .csp import csp_nonce
from .dependencies import consent_from_scope, get_consent
from .errors import ConfigError, ConsentError, RequestError
from .middleware import ConsentMiddleware
from .policy import Policy, load_policy, policy_from_string
from .state import ConsentState

__all__ = [
    "ConfigError",
    "ConsentError",
    "ConsentMiddleware",
    "ConsentState",
    "Policy",
    "PolicyConfig",
    "RequestError",
    "consent_from_scope",
    "csp_nonce",
    "get_consent",
    "load_policy",
    "policy_from_string",
]
