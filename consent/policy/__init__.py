"""The policy: the YAML file, validated (``config``) and compiled (``policy``).

``yamlsource`` reads the file safely and remembers lines; ``config`` and its
``*_settings`` models validate it; ``registry`` resolves cookie names to categories;
``taxonomy`` hashes what a visitor is shown; ``regions`` and ``lifetimes`` hold the
rest of what the file decides. ``state`` is what the app reads per request.
"""

from .config import PolicyConfig
from .policy import Policy, load_policy, policy_from_string
from .state import ConsentState

__all__ = ["ConsentState", "Policy", "PolicyConfig", "load_policy", "policy_from_string"]
