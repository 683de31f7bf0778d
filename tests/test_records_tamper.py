"""Editing, deleting, inserting and reordering rows directly in the database are each named."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

from consent.records import verify

from .records_support import Backend, backend, call, make_app, read_chain

__all__ = ["backend"]
pytestmark = pytest.mark.anyio
Tamper = Callable[[str], list[str]]


async def _six_records(backend: Backend) -> None:
    app = make_app(backend.policy())
    for action in ("accept_all", "reject_all") * 3:
        assert (await call(app, "POST", "/consent", body={"action": action})).status == 200


async def _tamper(backend: Backend, statements: list[str]) -> list[str]:
    await _six_records(backend)
    store = backend.store()
    try:
        async with store.engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement.replace("{t}", f"{backend.prefix}records")))
    finally:
        await store.close()
    records, head = await read_chain(backend)
    return verify(records, head).problems


async def test_untouched_chain_verifies(backend: Backend) -> None:
    assert await _tamper(backend, []) == []


async def test_edited_record_is_named(backend: Backend) -> None:
    problems = await _tamper(
        backend, ["UPDATE {t} SET granted = 'necessary,analytics' WHERE seq = 2"]
    )
    assert len(problems) == 1
    assert problems[0].startswith("record #2 ")
    assert "edited" in problems[0]


async def test_edited_and_rehashed_record_is_named(backend: Backend) -> None:
    problems = await _tamper(backend, ["UPDATE {t} SET hash = '" + "a" * 64 + "' WHERE seq = 3"])
    assert any(p.startswith("record #3 ") and "edited" in p for p in problems)


async def test_deleted_record_is_named(backend: Backend) -> None:
    problems = await _tamper(backend, ["DELETE FROM {t} WHERE seq = 4"])
    assert problems == [problems[0]]
    assert problems[0].startswith("record #4 before record #5")
    assert "deleted" in problems[0]


async def test_deleted_last_record_is_named(backend: Backend) -> None:
    problems = await _tamper(backend, ["DELETE FROM {t} WHERE seq = 6"])
    assert problems == ["record #6 at the end of the chain was deleted"]


async def test_reordered_records_are_named(backend: Backend) -> None:
    problems = await _tamper(
        backend,
        [
            "UPDATE {t} SET seq = -1 WHERE seq = 2",
            "UPDATE {t} SET seq = 2 WHERE seq = 3",
            "UPDATE {t} SET seq = 3 WHERE seq = -1",
        ],
    )
    assert len(problems) == 1
    assert problems[0].startswith("record #2 ")
    assert "reordered" in problems[0]


async def test_inserted_record_is_named(backend: Backend) -> None:
    copy = (
        "INSERT INTO {t} (seq, record_id, consent_id, created_at, action, granted, refused, "
        "revision, shown_hash, gpc, source, user_agent, ip, prev_hash, hash) "
        "SELECT 7, 'forged', consent_id, created_at, 'grant', granted, refused, revision, "
        "shown_hash, gpc, source, user_agent, ip, hash, prev_hash FROM {t} WHERE seq = 6"
    )
    problems = await _tamper(backend, [copy])
    assert any(p.startswith("record #7 (id forged)") and "inserted" in p for p in problems)
