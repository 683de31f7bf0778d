"""The chain on its own: canonical hashing and what ``verify`` names."""

from __future__ import annotations

import dataclasses
import json

from consent.records import Decision, Head, verify
from consent.records.chain import GENESIS, canonical, link
from consent.records.model import FIELDS
from consent.records.schema import schema


def _decisions(count: int) -> list[Decision]:
    return [
        Decision(
            record_id=f"r{index}",
            consent_id=f"c{index}",
            created_at=f"2026-01-0{index + 1}T00:00:00.000000Z",
            action="grant",
            granted=("necessary", "analytics"),
            refused=("advertisement",),
            revision=1,
            shown_hash="0" * 64,
            gpc=False,
            source="json",
            user_agent="ünïcode agent",
            ip=None,
        )
        for index in range(count)
    ]


CHAIN = link(_decisions(5), last_seq=0, last_hash=GENESIS)
HEAD = Head(5, CHAIN[-1].hash, 0, GENESIS)


def test_canonical_form_is_sorted_compact_utf8() -> None:
    text = canonical(CHAIN[0].decision, GENESIS).decode()
    assert text.startswith('{"action":"grant","consent_id":"c0","created_at":')
    assert '"user_agent":"ünïcode agent"' in text
    assert " " not in text.replace("ünïcode agent", "")


def test_intact_chain_and_empty_chain_verify() -> None:
    assert verify(CHAIN, HEAD).ok
    assert verify([], Head(0, GENESIS, 0, GENESIS)).ok


def test_missing_head_row() -> None:
    assert verify(CHAIN, None).problems == [
        "the chain head row is missing: the records tables were tampered with"
    ]


def test_first_records_deleted_and_everything_deleted() -> None:
    assert verify(CHAIN[2:], HEAD).problems == ["record #1-#2 before record #3 (id r2) was deleted"]
    assert verify([], HEAD).problems == ["record #1-#5 at the end of the chain was deleted"]


def test_a_record_put_before_the_first_one_is_inserted() -> None:
    forged = dataclasses.replace(CHAIN[0], seq=0, prev_hash="e" * 64)
    forged = dataclasses.replace(
        forged, decision=dataclasses.replace(forged.decision, record_id="x")
    )
    problems = verify([forged, *CHAIN], HEAD).problems
    assert any(p.startswith("record #0 (id x)") and "inserted" in p for p in problems)


def test_pruned_chain_verifies_from_its_anchor() -> None:
    pruned = Head(5, CHAIN[-1].hash, 2, CHAIN[1].hash)
    assert verify(CHAIN[2:], pruned).ok
    assert not verify(CHAIN[3:], pruned).ok


def test_content_round_trips_and_the_table_has_every_field() -> None:
    decision = _decisions(1)[0]
    content = decision.content()
    assert content["granted"] == ["necessary", "analytics"]  # JSON takes lists
    assert Decision.from_content(json.loads(json.dumps(content))) == decision
    # A database may hand back 1 for True and text for numbers: coerced to the field type.
    coerced = Decision.from_content({**content, "gpc": 1, "revision": "1"})
    assert coerced.gpc is True
    assert coerced.revision == 1
    assert [column.name for column in schema("x_").records.columns] == list(FIELDS)
