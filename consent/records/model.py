"""One proof-of-consent record: what a visitor decided, when, and what they were shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Action = Literal["grant", "refusal", "change", "withdrawal"]

# Field order of exports and receipts; the chain hash does not depend on it.
FIELDS = (
    "seq",
    "record_id",
    "consent_id",
    "created_at",
    "action",
    "granted",
    "refused",
    "revision",
    "shown_hash",
    "gpc",
    "source",
    "user_agent",
    "ip",
    "prev_hash",
    "hash",
)


def utc_text(moment: datetime) -> str:
    """The one textual form of a time: sortable as text in every database."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Decision:
    """A record's content, before it takes its place in the chain."""

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
        return {
            "record_id": self.record_id,
            "consent_id": self.consent_id,
            "created_at": self.created_at,
            "action": self.action,
            "granted": list(self.granted),
            "refused": list(self.refused),
            "revision": self.revision,
            "shown_hash": self.shown_hash,
            "gpc": self.gpc,
            "source": self.source,
            "user_agent": self.user_agent,
            "ip": self.ip,
        }

    @classmethod
    def from_content(cls, data: dict[str, Any]) -> Decision:
        return cls(
            record_id=str(data["record_id"]),
            consent_id=data["consent_id"],
            created_at=str(data["created_at"]),
            action=data["action"],
            granted=tuple(data["granted"]),
            refused=tuple(data["refused"]),
            revision=int(data["revision"]),
            shown_hash=str(data["shown_hash"]),
            gpc=bool(data["gpc"]),
            source=str(data["source"]),
            user_agent=str(data["user_agent"]),
            ip=data["ip"],
        )


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
