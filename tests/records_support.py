"""Shared by the records tests: policies with a records store, PostgreSQL per run, ASGI calls."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message

from consent import ConsentMiddleware, Policy, policy_from_string
from consent.records import Head, Store, StoredRecord
from consent.records.urls import async_url

from .conftest import EXAMPLE_POLICY, KEY, missing

PG_URL = os.environ.get("CONSENT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
_pg_state: dict[str, str | None] = {}


def _pg_problem() -> str | None:
    """Why PostgreSQL cannot be used, or ``None``; asked once per session."""
    if "problem" not in _pg_state:
        import asyncpg

        async def probe() -> None:
            connection = await asyncpg.connect(PG_URL, timeout=3)
            await connection.close()

        try:
            asyncio.run(probe())
            _pg_state["problem"] = None
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            _pg_state["problem"] = f"PostgreSQL at {PG_URL} is unreachable: {error}"
    return _pg_state["problem"]


def require_postgres() -> None:
    problem = _pg_problem()
    if problem is None:
        return
    missing(f"{problem}; the PostgreSQL records tests need it (they run in CI)")


async def drop_tables(url: str, prefix: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url, timeout=5)
    try:
        await connection.execute(f'DROP TABLE IF EXISTS "{prefix}records", "{prefix}chain"')
    finally:
        await connection.close()


@dataclass(frozen=True)
class Backend:
    """Where one test keeps its records."""

    name: str
    url: str
    prefix: str
    folder: Path

    def policy_text(self, extra: str = "", *, url: str | None = None) -> str:
        return Path(EXAMPLE_POLICY).read_text() + (
            f"\nrecords:\n  url: {json.dumps(url or self.url)}\n"
            f"  table_prefix: {self.prefix}\n  spool: {json.dumps(str(self.folder / 'spool'))}\n"
            + "".join(f"  {line}\n" for line in extra.splitlines())
        )

    def policy(self, extra: str = "", *, url: str | None = None) -> Policy:
        return policy_from_string(self.policy_text(extra, url=url))

    def policy_file(self) -> str:
        path = self.folder / "consent.yaml"
        path.write_text(self.policy_text())
        return str(path)

    def store(self) -> Store:
        return Store(async_url(self.url), prefix=self.prefix)


def unique_prefix() -> str:
    return f"t{secrets.token_hex(4)}_"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    prefix = unique_prefix()
    if request.param == "sqlite":
        yield Backend("sqlite", f"sqlite:///{tmp_path / 'records.db'}", prefix, tmp_path)
        return
    require_postgres()
    yield Backend("postgresql", PG_URL, prefix, tmp_path)
    asyncio.run(drop_tables(PG_URL, prefix))


async def read_chain(backend: Backend) -> tuple[list[StoredRecord], Head | None]:
    store = backend.store()
    try:
        return await store.all_records(), await store.head()
    finally:
        await store.close()


async def _home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("home")


def make_app(policy: Policy) -> ConsentMiddleware:
    return ConsentMiddleware(
        Starlette(routes=[Route("/", _home)]), policy=policy, secret_keys=[KEY]
    )


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def cookies(self) -> list[bytes]:
        return [value for key, value in self.headers if key == b"set-cookie"]

    def consent_cookie(self) -> bytes | None:
        for value in self.cookies():
            if value.startswith(b"consent="):
                return value.split(b";")[0]
        return None


async def call(
    app: ASGIApp,
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    client: str = "203.0.113.7",
) -> Reply:
    """One HTTP request straight into the ASGI app, no network."""
    raw = b"" if body is None else json.dumps(body).encode()
    sent: list[Message] = []
    all_headers = [(b"host", b"testserver"), (b"user-agent", b"records-test/1.0")]
    if body is not None:
        all_headers.append((b"content-type", b"application/json"))
    all_headers += headers or []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": all_headers,
        "client": (client, 50000),
        "server": ("testserver", 80),
    }
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            await asyncio.Event().wait()  # pragma: no cover - only after the response
        delivered = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body_bytes = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Reply(start["status"], list(start["headers"]), body_bytes)


@asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run the app's ASGI lifespan around the block, as a server does."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()

    async def receive() -> Message:
        return await inbox.get()

    async def send(message: Message) -> None:
        await outbox.put(message)

    async def run() -> None:
        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)

    task = asyncio.create_task(run())
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        stopped = await outbox.get()
        assert stopped["type"] == "lifespan.shutdown.complete", stopped
        await task
