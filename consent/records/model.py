"""One proof-of-consent record: what a visitor decided, when, and what they were shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Literal, get_type_hints

Action = Literal["grant", "refusal", "change", "withdrawal"]


def utc_text(moment: datetime) -> str:
    """The one textual form of a time: sortable as text in every database."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Decision:
    """A record's content, before it takes its place in the chain.

    The fields are the record's columns, exports and hashed content, in this order:
    everything else (``FIELDS``, the store's rows, the spool's lines) is derived from
    them, so a new field is added here and in the table (schema.py) only.
    """

    record_id: str
    consent_id: str | None
    created_at: str
    action: Action
    granted: tuple[str, ...]
    refused: tuple[str, ...]
    revision: int
    shown_hash: str
    gpc: bool
    source: str
    user_agent: str
    ip: str | None

    def content(self) -> dict[str, Any]:
        """The fields as JSON takes them (lists for the category tuples)."""
        data = {name: getattr(self, name) for name in DECISION_FIELDS}
        for name in LIST_FIELDS:
            data[name] = list(data[name])
        return data

    @classmethod
    def from_content(cls, data: dict[str, Any]) -> Decision:
        """Back from :meth:`content` (a spooled line, a row): each field to its type."""
        return cls(**{name: _CONVERTERS[name](data[name]) for name in DECISION_FIELDS})


def _same(value: Any) -> Any:
    return value


def _converter(annotation: Any) -> Callable[[Any], Any]:
    # Plain types are coerced (a database may hand back 1 for True); optional and
    # literal fields are taken as they come.
    if annotation in (str, int, bool):
        return annotation  # type: ignore[no-any-return]
    if getattr(annotation, "__origin__", None) is tuple:
        return tuple
    return _same


DECISION_FIELDS = tuple(field.name for field in fields(Decision))
_CONVERTERS = {name: _converter(hint) for name, hint in get_type_hints(Decision).items()}
# Tuples in a record, lists in JSON, comma-joined text in the store.
LIST_FIELDS = tuple(name for name in DECISION_FIELDS if _CONVERTERS[name] is tuple)
# Field order of exports and receipts; the chain hash does not depend on it.
FIELDS = ("seq", *DECISION_FIELDS, "prev_hash", "hash")


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as read back from the store: its content and its chain links."""

    seq: int
    decision: Decision
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        data = self.decision.content()
        data.update(seq=self.seq, prev_hash=self.prev_hash, hash=self.hash)
        return {name: data[name] for name in FIELDS}
