"""The hash chain: canonical serialisation, record hashes and verification.

A record's hash is SHA-256 over the canonical JSON of its content plus the hash
of the record before it (``prev_hash``): UTF-8, keys sorted, no spaces, lists in
stored order. The position (``seq``) is not hashed; the order of the chain is
the order of the links, so moving a row breaks a link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .model import Decision, StoredRecord

GENESIS = "0" * 64


def canonical(decision: Decision, prev_hash: str) -> bytes:
    data: dict[str, Any] = decision.content()
    data["prev_hash"] = prev_hash
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(decision: Decision, prev_hash: str) -> str:
    return hashlib.sha256(canonical(decision, prev_hash)).hexdigest()


def link(decisions: Iterable[Decision], *, last_seq: int, last_hash: str) -> list[StoredRecord]:
    """Give each decision its place after (``last_seq``, ``last_hash``)."""
    result = []
    for decision in decisions:
        last_seq += 1
        digest = record_hash(decision, last_hash)
        result.append(StoredRecord(last_seq, decision, last_hash, digest))
        last_hash = digest
    return result


@dataclass(frozen=True, slots=True)
class Head:
    """The chain's bookends, kept in their own row: the last record and the prune anchor."""

    last_seq: int
    last_hash: str
    anchor_seq: int
    anchor_hash: str


@dataclass
class Verdict:
    """What ``verify`` found: ``problems`` names each bad record; empty means intact."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _name(record: StoredRecord) -> str:
    return f"record #{record.seq} (id {record.decision.record_id})"


def verify(records: list[StoredRecord], head: Head | None) -> Verdict:
    """Check every hash and follow every link; name what was edited, deleted, inserted or moved.

    ``records`` are in stored order (``seq``). The chain is walked from the prune
    anchor along the links; a record the walk never reaches was inserted, a link
    that leads nowhere means the record it named was deleted or edited, and a
    walk that steps back in stored order means records were moved.
    """
    verdict = Verdict(checked=len(records))
    problems = verdict.problems
    if head is None:
        problems.append("the chain head row is missing: the records tables were tampered with")
        return verdict
    for record in records:
        if record_hash(record.decision, record.prev_hash) != record.hash:
            problems.append(f"{_name(record)} was edited: its content does not match its hash")
    by_hash = {record.hash: record for record in records}
    by_seq = {record.seq: record for record in records}
    followers: dict[str, list[StoredRecord]] = {}
    for record in records:
        followers.setdefault(record.prev_hash, []).append(record)
    walked: list[StoredRecord] = []
    visited: set[int] = set()

    def walk(start: str) -> None:
        current = start
        while True:
            options = [r for r in followers.get(current, ()) if r.seq not in visited]
            if not options:
                return
            record = min(options, key=lambda r: r.seq)
            if walked and walked[-1].hash == current and record.seq < walked[-1].seq:
                problems.append(
                    f"{_name(record)} was reordered: it is stored before record "
                    f"#{walked[-1].seq}, which it follows in the chain"
                )
            visited.add(record.seq)
            walked.append(record)
            current = record.hash

    walk(head.anchor_hash)
    for record in records:
        if (
            record.seq in visited
            or record.prev_hash in by_hash
            or record.prev_hash == head.anchor_hash
        ):
            continue
        # A link to a hash no stored record has: its target was deleted or rewritten.
        before = by_seq.get(record.seq - 1)
        if before is None and record.seq - 1 > head.anchor_seq:
            first_gone = max((s for s in by_seq if s < record.seq), default=head.anchor_seq) + 1
            gone = (
                f"#{first_gone}"
                if first_gone == record.seq - 1
                else (f"#{first_gone}-#{record.seq - 1}")
            )
            problems.append(f"record {gone} before {_name(record)} was deleted")
        elif before is None:
            problems.append(
                f"{_name(record)} does not link to the prune anchor: records were deleted"
            )
        else:
            problems.append(
                f"{_name(before)} was edited or replaced: {_name(record)} links to another version"
            )
        visited.add(record.seq)
        walked.append(record)
        walk(record.hash)
    for record in records:
        if record.seq not in visited:
            problems.append(f"{_name(record)} was inserted: no record of the chain links to it")
    last = head.last_hash
    if last in by_hash:
        seen_head = False
        for record in walked:
            if seen_head:
                problems.append(f"{_name(record)} was inserted after the chain head")
            seen_head = seen_head or record.hash == last
    elif last != head.anchor_hash or records:
        newest = max(by_seq, default=head.anchor_seq)
        if newest < head.last_seq:
            gone = (
                f"#{newest + 1}"
                if newest + 1 == head.last_seq
                else f"#{newest + 1}-#{head.last_seq}"
            )
            problems.append(f"record {gone} at the end of the chain was deleted")
        else:
            problems.append(f"record #{head.last_seq}, the chain head, was edited or replaced")
    return verdict
