"""Server-enforced cookie consent for ASGI apps."""

from .dependencies import consent_from_scope, get_consent
from .errors import ConfigError, ConsentError, RequestError
from .middleware import ConsentMiddleware
from .policy.config import PolicyConfig
from .policy.policy import Policy, load_policy, policy_from_string
from .policy.state import ConsentState
from .signals.csp import csp_nonce

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
