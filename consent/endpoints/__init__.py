"""The consent endpoints: read the state, grant or refuse, withdraw.

``choice`` reads what the visitor chose, ``checks`` holds the request checks (origin,
``next=``), and ``handler`` applies a choice and answers.
"""

from .handler import Endpoints

__all__ = ["Endpoints"]
