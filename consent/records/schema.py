"""The two tables, under a prefix so that several sites (or test runs) can share a database.

``{prefix}records`` holds the chain; ``{prefix}chain`` holds one row: the chain head
(last ``seq`` and hash), the prune anchor and the schema version.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 1
HEAD_ID = 1
USER_AGENT_MAX = 200


@dataclass(frozen=True, slots=True)
class Schema:
    metadata: MetaData
    records: Table
    chain: Table


def schema(prefix: str) -> Schema:
    metadata = MetaData()
    records = Table(
        f"{prefix}records",
        metadata,
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("record_id", String(36), nullable=False, unique=True),
        Column("consent_id", String(64), nullable=True),
        Column("created_at", String(32), nullable=False),
        Column("action", String(16), nullable=False),
        Column("granted", Text, nullable=False),
        Column("refused", Text, nullable=False),
        Column("revision", BigInteger, nullable=False),
        Column("shown_hash", String(64), nullable=False),
        Column("gpc", Boolean, nullable=False),
        Column("source", String(16), nullable=False),
        Column("user_agent", String(USER_AGENT_MAX), nullable=False),
        Column("ip", String(64), nullable=True),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
    )
    Index(f"{prefix}records_consent_id", records.c.consent_id)
    Index(f"{prefix}records_created_at", records.c.created_at)
    chain = Table(
        f"{prefix}chain",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("schema_version", Integer, nullable=False),
        Column("last_seq", BigInteger, nullable=False),
        Column("last_hash", String(64), nullable=False),
        Column("anchor_seq", BigInteger, nullable=False),
        Column("anchor_hash", String(64), nullable=False),
    )
    return Schema(metadata, records, chain)
