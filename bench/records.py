"""Records per second through the ASGI app, for SQLite and PostgreSQL.

Run with ``python -m bench.records``. Each store takes N decisions (distinct
visitors, a mix of grants and refusals) at concurrency 50, called in-process
with fake receive/send and the ASGI lifespan, as a server would. A grant is
answered only after its record is committed, so records/s is also grants/s.
Goals on the 2-core reference machine: SQLite >= 1,000/s, PostgreSQL >= 2,000/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.types import Message

from consent import ConsentMiddleware, policy_from_string
from consent.records import Store, verify
from consent.records.urls import async_url

POLICY = Path(__file__).resolve().parent.parent / "examples" / "consent.yaml"
PG_URL = os.environ.get("CONSENT_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
GOALS = {"sqlite": 1000, "postgresql": 2000}
BODIES = [
    b'{"action": "accept_all"}',
    b'{"action": "reject_all"}',
    b'{"granted": ["analytics"]}',
    b'{"action": "accept_all", "source": "banner"}',
]


def _app(url: str, prefix: str, spool: Path) -> ConsentMiddleware:
    text = POLICY.read_text() + (
        f"\nrecords:\n  url: {json.dumps(url)}\n  table_prefix: {prefix}\n"
        f"  spool: {json.dumps(str(spool))}\n"
    )
    return ConsentMiddleware(
        Starlette(), policy=policy_from_string(text), secret_keys=["bench-key-0123456789abcdef"]
    )


async def _decide(app: ConsentMiddleware, body: bytes) -> int:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/consent",
        "raw_path": b"/consent",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"user-agent", b"bench/1.0"),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("bench", 80),
    }
    status = 0

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def measure(name: str, url: str, total: int, concurrency: int) -> float:
    prefix = f"bench{secrets.token_hex(3)}_"
    with tempfile.TemporaryDirectory() as folder:
        if name == "sqlite":
            url = f"sqlite:///{Path(folder) / 'records.db'}"
        app = _app(url, prefix, Path(folder) / "spool.jsonl")
        assert app.records is not None
        await app.records.startup()
        numbers = iter(range(total))
        failures = 0

        async def worker() -> None:
            nonlocal failures
            for number in numbers:
                if await _decide(app, BODIES[number % len(BODIES)]) != 200:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        await app.records.shutdown()
        store = Store(async_url(url), prefix=prefix)
        try:
            records, head = await store.all_records(), await store.head()
            verdict = verify(records, head)
            if failures or len(records) != total or not verdict.ok:
                raise SystemExit(
                    f"{name}: {failures} failed requests, {len(records)} records of {total}, "
                    f"chain problems: {verdict.problems[:3]}"
                )
        finally:
            if name == "postgresql":
                async with store.engine.begin() as conn:
                    from sqlalchemy import text

                    await conn.execute(text(f'DROP TABLE "{prefix}records", "{prefix}chain"'))
            await store.close()
    return total / elapsed


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.records", description=__doc__)
    parser.add_argument("--decisions", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args(argv)
    print(f"records/s, {args.decisions} decisions at concurrency {args.concurrency} (in-process)")
    missed = False
    for name, url in (("sqlite", ""), ("postgresql", PG_URL)):
        if name == "postgresql" and args.skip_postgres:
            continue
        try:
            rate = await measure(name, url, args.decisions, args.concurrency)
        except OSError as error:
            print(f"  {name:<11} skipped: {error}")
            continue
        goal = GOALS[name]
        verdict = "ok" if rate >= goal else "MISSED"
        missed = missed or rate < goal
        print(f"  {name:<11} {rate:8,.0f} records/s   goal >= {goal:,}/s: {verdict}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
