"""The consent endpoints: read the state, grant or refuse, withdraw."""

from .handler import Endpoints, safe_next

__all__ = ["Endpoints", "safe_next"]
