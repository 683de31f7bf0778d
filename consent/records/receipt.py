"""``GET {endpoint}/receipt``: the visitor's own records, found by the consent id in their token."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from ..errors import RequestError
from ..policy.state import ConsentState
from .recorder import Recorder
from .store import StoreUnavailable

_HIDDEN = ("seq", "prev_hash")


async def receipt_response(recorder: Recorder | None, method: str, state: ConsentState) -> Response:
    """200 with ``{"consent_id", "records": [...]}``; an undecided visitor gets an empty list."""
    if method not in ("GET", "HEAD"):
        raise RequestError(405, f"method {method} is not allowed here", allow="GET, HEAD")
    if recorder is None:
        raise RequestError(404, "consent records are turned off on this site")
    records: list[dict[str, Any]] = []
    if state.consent_id is not None:
        try:
            found = await recorder.receipt(state.consent_id)
        except StoreUnavailable:
            raise RequestError(503, "the consent records cannot be read just now") from None
        for record in found:
            data = record.as_dict()
            records.append({k: v for k, v in data.items() if k not in _HIDDEN})
    return JSONResponse(
        {"consent_id": state.consent_id, "records": records},
        headers={"cache-control": "no-store"},
    )
