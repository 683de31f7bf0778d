"""Faults: PostgreSQL connections killed mid-run, and the database gone for a while.

Whatever happens: no record is lost, no grant is answered without its record, no
5xx grants anything, and refusals made meanwhile are written once the store is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from consent import ConsentMiddleware
from consent.records import verify

from .records_support import (
    PG_URL,
    Backend,
    Reply,
    call,
    drop_tables,
    lifespan,
    make_app,
    read_chain,
    require_postgres,
    unique_prefix,
)

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
