"""FastAPI sugar: ``Consent`` is an annotated dependency for route parameters.

from consent.fastapi import Consent

@app.get("/")
def home(consent: Consent) -> dict[str, bool]:
    return {"analytics": consent.allows("analytics")}
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from .dependencies import get_consent
from .policy.state import ConsentState

Consent = Annotated[ConsentState, Depends(get_consent)]

__all__ = ["Consent", "get_consent"]
