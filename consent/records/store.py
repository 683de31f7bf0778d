"""The records store: SQLAlchemy 2 Core on asyncio, SQLite (aiosqlite) or PostgreSQL (asyncpg).

Appends are serialised across every writer of one database, so the chain stays a
single line however many app instances write to it: PostgreSQL locks the chain
head row (``SELECT ... FOR UPDATE``), SQLite takes its write lock up front
(``BEGIN IMMEDIATE``). Every append skips record ids already stored, which makes
a retried or re-spooled batch harmless.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, func, insert, select, text, update
from sqlalchemy.engine import URL, Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from ..errors import ConfigError, ConsentError
from .chain import GENESIS, Head, link
from .model import DECISION_FIELDS, LIST_FIELDS, Decision, StoredRecord
from .schema import HEAD_ID, SCHEMA_VERSION, schema

if TYPE_CHECKING:
    from ..policy.config import RecordsSettings

APPLICATION_NAME = "consent-records"
_PAGE = 5000


class StoreUnavailable(ConsentError):
    """The records store could not be reached or written."""


class Store:
    """One engine on one database. ``pooled=False`` opens a connection per transaction,
    for callers that cannot promise to close the store on the event loop that used it."""

    def __init__(
        self, url: URL, *, prefix: str = "consent_", timeout: float = 3.0, pooled: bool = True
    ) -> None:
        self.tables = schema(prefix)
        self.prefix = prefix
        self.is_sqlite = url.get_backend_name() == "sqlite"
        self.engine = _engine(url, timeout=timeout, pooled=pooled)

    @classmethod
    def configured(cls, settings: RecordsSettings, url: URL, *, pooled: bool = True) -> Store:
        """The store of the ``records:`` settings, at ``url`` (their URL made async)."""
        return cls(
            url, prefix=settings.table_prefix, timeout=settings.timeout_seconds, pooled=pooled
        )

    async def close(self) -> None:
        await self.engine.dispose()

    # -- schema ---------------------------------------------------------------

    async def init(self) -> None:
        """Create the tables and the head row, or check that the existing ones are ours."""
        chain = self.tables.chain
        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                # Two instances starting at once must not both create the tables.
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(self.prefix)}
                )
            await conn.run_sync(self.tables.metadata.create_all)
            row = (
                await conn.execute(select(chain.c.schema_version).where(chain.c.id == HEAD_ID))
            ).one_or_none()
            if row is None:
                await conn.execute(
                    insert(chain).values(
                        id=HEAD_ID,
                        schema_version=SCHEMA_VERSION,
                        last_seq=0,
                        last_hash=GENESIS,
                        anchor_seq=0,
                        anchor_hash=GENESIS,
                    )
                )
            elif row.schema_version > SCHEMA_VERSION:
                raise ConfigError(
                    f"the records tables were made by a newer version of consent (schema "
                    f"{row.schema_version}, this one knows {SCHEMA_VERSION}); upgrade consent",
                    key="records.url",
                )
            elif row.schema_version < SCHEMA_VERSION:  # pragma: no cover - no older schema yet
                await conn.execute(
                    update(chain).where(chain.c.id == HEAD_ID).values(schema_version=SCHEMA_VERSION)
                )

    # -- writing --------------------------------------------------------------

    async def append(
        self, decisions: Sequence[Decision], *, new: Sequence[Decision] = ()
    ) -> list[StoredRecord]:
        """Chain and commit ``decisions`` then ``new`` in one transaction.

        Ids of ``decisions`` already stored are skipped, which makes writing a spool
        or a batch again harmless; ``new`` are decisions never sent before, which
        need no such look-up. A connection found dead (a restarted server, a
        terminated backend) is retried once on a fresh one, with every id checked,
        since the first commit may have landed.
        """
        try:
            return await self._append(decisions, new)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            return await self._append([*decisions, *new], ())

    async def _append(
        self, decisions: Sequence[Decision], new: Sequence[Decision]
    ) -> list[StoredRecord]:
        records, chain = self.tables.records, self.tables.chain
        async with self.engine.begin() as conn:
            head = await self._head(conn, lock=True)
            stored: set[str] = set()
            if decisions:
                ids = [decision.record_id for decision in decisions]
                query = select(records.c.record_id).where(records.c.record_id.in_(ids))
                stored.update((await conn.execute(query)).scalars())
            fresh: list[Decision] = []
            for decision in decisions:
                if decision.record_id not in stored:
                    stored.add(decision.record_id)
                    fresh.append(decision)
            fresh += new
            linked = link(fresh, last_seq=head.last_seq, last_hash=head.last_hash)
            if linked:
                await conn.execute(insert(records), [_row(record) for record in linked])
                await conn.execute(
                    update(chain)
                    .where(chain.c.id == HEAD_ID)
                    .values(last_seq=linked[-1].seq, last_hash=linked[-1].hash)
                )
            return linked

    async def prune(self, before: str) -> int:
        """Delete the oldest records made before ``before`` (UTC text); keep an anchor.

        Only a prefix of the chain goes: from the first record made at or after
        ``before`` on, everything stays, so the rest still links to the anchor.
        """
        records, chain = self.tables.records, self.tables.chain
        async with self.engine.begin() as conn:
            head = await self._head(conn, lock=True)
            first_kept = (
                await conn.execute(
                    select(func.min(records.c.seq)).where(records.c.created_at >= before)
                )
            ).scalar()
            last_pruned = head.last_seq if first_kept is None else int(first_kept) - 1
            if last_pruned <= head.anchor_seq:
                return 0
            anchor_hash = (
                await conn.execute(select(records.c.hash).where(records.c.seq == last_pruned))
            ).scalar_one()
            deleted = await conn.execute(records.delete().where(records.c.seq <= last_pruned))
            await conn.execute(
                update(chain)
                .where(chain.c.id == HEAD_ID)
                .values(anchor_seq=last_pruned, anchor_hash=anchor_hash)
            )
            return int(deleted.rowcount)

    # -- reading --------------------------------------------------------------

    async def head(self) -> Head | None:
        async with self.engine.connect() as conn:
            try:
                return await self._head(conn, lock=False)
            except StoreUnavailable:
                return None

    async def iter_records(
        self, *, since: str | None = None, until: str | None = None
    ) -> AsyncIterator[StoredRecord]:
        """Every record in chain order, page by page (no server-side cursor needed)."""
        records = self.tables.records
        after = -1
        while True:
            query = select(records).where(records.c.seq > after)
            if since is not None:
                query = query.where(records.c.created_at >= since)
            if until is not None:
                query = query.where(records.c.created_at < until)
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query.order_by(records.c.seq).limit(_PAGE))).all()
            for row in rows:
                yield _record(row)
            if len(rows) < _PAGE:
                return
            after = rows[-1].seq

    async def all_records(self) -> list[StoredRecord]:
        return [record async for record in self.iter_records()]

    async def receipt(self, consent_id: str) -> list[StoredRecord]:
        records = self.tables.records
        query = select(records).where(records.c.consent_id == consent_id).order_by(records.c.seq)
        async with self.engine.connect() as conn:
            return [_record(row) for row in (await conn.execute(query)).all()]

    async def day_counts(
        self, *, since: str | None = None, until: str | None = None
    ) -> list[tuple[str, str, int]]:
        """(day, granted, count) rows: the raw material of ``stats``."""
        records = self.tables.records
        day = func.substr(records.c.created_at, 1, 10).label("day")
        query = select(day, records.c.granted, func.count().label("n"))
        if since is not None:
            query = query.where(records.c.created_at >= since)
        if until is not None:
            query = query.where(records.c.created_at < until)
        query = query.group_by(day, records.c.granted).order_by(day)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(str(r.day), str(r.granted), int(r.n)) for r in rows]

    async def _head(self, conn: AsyncConnection, *, lock: bool) -> Head:
        chain = self.tables.chain
        query = select(chain).where(chain.c.id == HEAD_ID)
        if lock:
            query = query.with_for_update()
        row = (await conn.execute(query)).one_or_none()
        if row is None:
            raise StoreUnavailable("the records store has no chain head; it was not initialised")
        return Head(int(row.last_seq), row.last_hash, int(row.anchor_seq), row.anchor_hash)


def _engine(url: URL, *, timeout: float, pooled: bool) -> AsyncEngine:
    options: dict[str, Any] = {}
    if not pooled:
        options["poolclass"] = NullPool
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": timeout}, **options)
        _sqlite_transactions(engine)
        return engine
    query = dict(url.query)
    name = query.pop("application_name", APPLICATION_NAME)
    connect_args = {
        "timeout": timeout,
        "command_timeout": timeout,
        "server_settings": {"application_name": str(name)},
    }
    return create_async_engine(
        url.set(query=query),
        connect_args=connect_args,
        **options,
    )


def _sqlite_transactions(engine: AsyncEngine) -> None:
    """Let SQLAlchemy, not the driver, begin transactions, and take the write lock at BEGIN."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets readers (receipts, exports) run beside the writer; FULL makes a
        # commit durable before a grant is answered.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _lock_key(prefix: str) -> int:
    digest = hashlib.sha256(f"consent-records:{prefix}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _row(record: StoredRecord) -> dict[str, Any]:
    row = record.as_dict()
    for name in LIST_FIELDS:
        row[name] = ",".join(row[name])
    return row


def _split(value: str) -> tuple[str, ...]:
    return tuple(value.split(",")) if value else ()


def _record(row: Row[Any]) -> StoredRecord:
    content = {name: getattr(row, name) for name in DECISION_FIELDS}
    for name in LIST_FIELDS:
        content[name] = _split(content[name])
    return StoredRecord(int(row.seq), Decision.from_content(content), row.prev_hash, row.hash)
