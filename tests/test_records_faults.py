"""Faults: PostgreSQL connections killed mid-run, the database gone for a while, a slow store.

Whatever happens: no record is lost or written twice, no grant is answered without
its record, no 5xx grants anything, and refusals made meanwhile are written once
the store is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from consent import ConsentMiddleware
from consent.records import Decision, Store, StoredRecord, StoreUnavailable, recorder, verify

from .records_support import (
    PG_URL,
    Backend,
    Reply,
    backend,
    call,
    drop_tables,
    lifespan,
    make_app,
    read_chain,
    require_postgres,
    unique_prefix,
)

__all__ = ["backend"]
pytestmark = pytest.mark.anyio
GRANT = {"action": "accept_all"}
REFUSE = {"action": "reject_all"}


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Backend]:
    require_postgres()
    prefix = unique_prefix()
    yield Backend("postgresql", PG_URL, prefix, tmp_path)
    asyncio.run(drop_tables(PG_URL, prefix))


class Proxy:
    """A TCP proxy in front of PostgreSQL that the test can cut and restore."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self.server: asyncio.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        for writer in list(self.links):
            writer.transport.abort()
        self.links.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self.links |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    target.write(data)
                    await target.drain()
            target.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.links -= {writer, up_writer}


@asynccontextmanager
async def proxy_to_postgres() -> AsyncIterator[Proxy]:
    parts = urlsplit(PG_URL)
    proxy = Proxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    await proxy.open()
    try:
        yield proxy
    finally:
        if proxy.server is not None and proxy.server.is_serving():
            await proxy.cut()


def _via(proxy: Proxy) -> str:
    parts = urlsplit(PG_URL)
    user = f"{parts.username}@" if parts.username else ""
    return f"postgresql://{user}127.0.0.1:{proxy.port}{parts.path}"


async def _check(backend: Backend, replies: list[tuple[dict[str, str], Reply]]) -> None:
    """The promises, checked against what is in the database."""
    records, head = await read_chain(backend)
    assert verify(records, head).problems == []
    by_visitor = {(r.decision.consent_id, r.decision.action) for r in records}
    assert len({r.decision.record_id for r in records}) == len(records)
    for body, reply in replies:
        assert reply.status in (200, 503), reply.body
        if reply.status == 503:
            assert reply.cookies() == []  # nothing granted by a failed request
            continue
        action = "grant" if body is GRANT else "refusal"
        assert (reply.json()["consent_id"], action) in by_visitor


async def test_connections_terminated_mid_run_lose_nothing(pg: Backend) -> None:
    name = f"consent-test-{secrets.token_hex(4)}"
    app = make_app(pg.policy(url=f"{PG_URL}?application_name={name}"))
    replies: list[tuple[dict[str, str], Reply]] = []
    killer = await asyncpg.connect(PG_URL)
    terminated = 0

    numbers = iter(range(600))

    async def worker() -> None:
        nonlocal terminated
        for number in numbers:
            body = GRANT if number % 2 else REFUSE
            replies.append((body, await call(app, "POST", "/consent", body=body)))
            if len(replies) % 100 == 0:
                # Kill every connection of this app while other requests are in flight.
                terminated += await killer.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = $1",
                    name,
                )

    try:
        async with lifespan(app):
            await asyncio.gather(*(worker() for _ in range(30)))
            assert app.records is not None
            assert await app.records.flush() == 0
    finally:
        await killer.close()
    assert terminated > 0
    await _check(pg, replies)


async def test_outage_blocks_grants_and_keeps_refusals(pg: Backend) -> None:
    async with proxy_to_postgres() as proxy:
        app: ConsentMiddleware = make_app(pg.policy("timeout_seconds: 2", url=_via(proxy)))
        replies: list[tuple[dict[str, str], Reply]] = []
        async with lifespan(app):
            for body in (GRANT, REFUSE):
                replies.append((body, await call(app, "POST", "/consent", body=body)))
            assert [reply.status for _, reply in replies] == [200, 200]

            await proxy.cut()
            during = [
                (body, await call(app, "POST", "/consent", body=body))
                for body in (GRANT, REFUSE, REFUSE, GRANT, REFUSE)
            ]
            assert [reply.status for _, reply in during] == [503, 200, 200, 503, 200]
            replies += during

            await proxy.open()  # the database is back: the retry task writes the spool
            assert app.records is not None
            for _ in range(200):
                if not app.records.spool.has_pending():
                    break
                await asyncio.sleep(0.05)
            assert not app.records.spool.has_pending()
            after = (GRANT, await call(app, "POST", "/consent", body=GRANT))
            assert after[1].status == 200
            replies.append(after)
    await _check(pg, replies)
    records, _ = await read_chain(pg)
    assert len(records) == 2 + 3 + 1


async def test_a_hanging_store_delays_no_refusal_beyond_a_second(pg: Backend) -> None:
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accept, then say nothing: a database that hangs

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    parts = urlsplit(PG_URL)
    user = f"{parts.username}@" if parts.username else ""
    app = make_app(pg.policy("timeout_seconds: 2", url=f"postgresql://{user}127.0.0.1:{port}/x"))
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        refusal = await call(app, "POST", "/consent", body=REFUSE)
        assert refusal.status == 200
        assert loop.time() - started < 1.9
        grant = await call(app, "POST", "/consent", body=GRANT)
        assert grant.status == 503
        assert grant.cookies() == []
        assert app.records is not None
        assert [d.consent_id for d in app.records.spool.pending()] == [refusal.json()["consent_id"]]
    finally:
        server.close()
        for writer in held:
            writer.transport.abort()
        await server.wait_closed()
        assert app.records is not None
        await app.records.shutdown()


class SlowStore:
    """Holds every append at a gate the test opens; fails it while ``down``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.writing = asyncio.Event()  # a transaction has begun
        self.gate = asyncio.Event()
        self.down = False
        append = Store.append

        async def slow_append(
            store: Store, decisions: Sequence[Decision], *, new: Sequence[Decision] = ()
        ) -> list[StoredRecord]:
            self.writing.set()
            await self.gate.wait()
            if self.down:
                raise StoreUnavailable("the test took the store down")
            return await append(store, decisions, new=new)

        monkeypatch.setattr(Store, "append", slow_append)
        # A refusal's wait runs out long before the store answers, yet a grant's does not.
        monkeypatch.setattr(recorder, "REFUSAL_WAIT", 0.01)

    async def busy(self) -> None:
        """Until the first transaction is held at the gate (a failure, not a hang, if never)."""
        await asyncio.wait_for(self.writing.wait(), 10)


def _ids(replies: list[Reply]) -> set[str]:
    return {reply.json()["consent_id"] for reply in replies}


def _spooled(app: ConsentMiddleware) -> set[str | None]:
    assert app.records is not None
    return {decision.consent_id for decision in app.records.spool.pending()}


async def test_a_slow_store_refuses_no_grant_and_writes_each_decision_once(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SlowStore(monkeypatch)
    app = make_app(backend.policy())
    async with lifespan(app):
        writing = asyncio.create_task(call(app, "POST", "/consent", body=REFUSE))
        await store.busy()
        bodies = (GRANT, REFUSE, GRANT, REFUSE)
        queued = [asyncio.create_task(call(app, "POST", "/consent", body=b)) for b in bodies]
        # Answered while the store is still busy with the first transaction.
        refusals = [await writing, await queued[1], await queued[3]]
        spooled_meanwhile = _spooled(app)
        store.gate.set()
        grants = [await queued[0], await queued[2]]
        assert [reply.status for reply in grants + refusals] == [200] * 5
        # In one place at a time: the refusal being written is not spooled, the queued ones are.
        assert spooled_meanwhile == _ids(refusals[1:])
        assert _spooled(app) == set()
        assert app.records is not None
        assert await app.records.flush() == 0
    records, head = await read_chain(backend)
    assert verify(records, head).problems == []
    assert sorted(r.decision.consent_id or "" for r in records) == sorted(_ids(grants + refusals))


async def test_refusals_the_store_cannot_take_are_spooled_and_written_once(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SlowStore(monkeypatch)
    store.down = True
    app = make_app(backend.policy())
    async with lifespan(app):
        writing = asyncio.create_task(call(app, "POST", "/consent", body=REFUSE))
        await store.busy()
        queued = asyncio.create_task(call(app, "POST", "/consent", body=REFUSE))
        grant = asyncio.create_task(call(app, "POST", "/consent", body=GRANT))
        refusals = [await writing, await queued]
        store.gate.set()  # the store fails: the writer spools the refusal it held
        assert (await grant).status == 503
        refusals.append(await call(app, "POST", "/consent", body=REFUSE))  # failing fast
        assert [reply.status for reply in refusals] == [200] * 3
        assert _spooled(app) == _ids(refusals)

        store.down = False
        assert app.records is not None
        assert await app.records.flush() == 0
    records, head = await read_chain(backend)
    assert verify(records, head).problems == []
    assert sorted(r.decision.consent_id or "" for r in records) == sorted(_ids(refusals))


def test_a_refusal_being_written_when_the_loop_closes_is_spooled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A test client without lifespan runs each request on a loop of its own.
    target = Backend("sqlite", f"sqlite:///{tmp_path / 'r.db'}", "consent_", tmp_path)
    store = SlowStore(monkeypatch)
    app = make_app(target.policy())
    refusal = asyncio.run(call(app, "POST", "/consent", body=REFUSE))
    assert refusal.status == 200
    assert _spooled(app) == _ids([refusal])

    store.gate.set()
    assert app.records is not None
    assert asyncio.run(app.records.flush()) == 0
    records, _ = asyncio.run(read_chain(target))
    assert [r.decision.consent_id for r in records] == [refusal.json()["consent_id"]]


async def test_a_spooled_record_already_stored_is_not_written_again(backend: Backend) -> None:
    app = make_app(backend.policy())
    assert app.records is not None
    async with lifespan(app):
        refusal = await call(app, "POST", "/consent", body=REFUSE)
        stored, _ = await read_chain(backend)
        # A crash between a commit and the spool's rewrite leaves the line behind.
        app.records.spool.add([stored[0].decision])
        grant = await call(app, "POST", "/consent", body=GRANT)
        assert grant.status == 200
        assert _spooled(app) == set()
    records, head = await read_chain(backend)
    assert verify(records, head).problems == []
    assert [r.decision.consent_id for r in records] == [
        refusal.json()["consent_id"],
        grant.json()["consent_id"],
    ]
