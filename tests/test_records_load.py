"""5,000 decisions at concurrency 50, and two app instances on one database."""

from __future__ import annotations

import asyncio

import pytest

from consent.records import verify

from .records_support import Backend, backend, call, lifespan, make_app, read_chain

__all__ = ["backend"]
pytestmark = pytest.mark.anyio
BODIES = [
    {"action": "accept_all"},
    {"action": "reject_all"},
    {"granted": ["analytics"]},
    {"granted": []},
    {"action": "accept_all", "source": "banner"},
]


async def _decide(apps: list[object], total: int, concurrency: int) -> list[int]:
    """``total`` decisions by distinct visitors, ``concurrency`` at a time, spread over ``apps``."""
    numbers = iter(range(total))
    statuses: list[int] = []

    async def worker() -> None:
        for number in numbers:
            app = apps[number % len(apps)]
            reply = await call(app, "POST", "/consent", body=BODIES[number % len(BODIES)])  # type: ignore[arg-type]
            statuses.append(reply.status)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


async def test_5000_decisions_at_concurrency_50_make_5000_chained_records(
    backend: Backend,
) -> None:
    app = make_app(backend.policy())
    async with lifespan(app):
        statuses = await _decide([app], 5000, 50)
    assert statuses == [200] * 5000
    records, head = await read_chain(backend)
    assert len(records) == 5000
    assert len({r.decision.record_id for r in records}) == 5000
    assert [r.seq for r in records] == list(range(1, 5001))
    verdict = verify(records, head)
    assert verdict.problems == []


async def test_two_instances_writing_at_once_keep_one_chain(backend: Backend) -> None:
    first, second = make_app(backend.policy()), make_app(backend.policy())
    async with lifespan(first), lifespan(second):
        statuses = await _decide([first, second], 600, 20)
    assert statuses == [200] * 600
    records, head = await read_chain(backend)
    assert len(records) == 600
    assert verify(records, head).ok
    assert {r.decision.action for r in records} == {"grant", "refusal"}
