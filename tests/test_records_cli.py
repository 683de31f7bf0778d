"""``consent records export|verify|prune|stats`` on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from consent.cli import main
from consent.records import Decision, Store
from consent.records.model import utc_text

from .records_support import Backend, backend

__all__ = ["backend"]
NOW = datetime.now(UTC)


def _decision(days_ago: int, granted: tuple[str, ...]) -> Decision:
    optional = ("functional", "analytics", "performance", "advertisement")
    return Decision(
        record_id=str(uuid.uuid4()),
        consent_id=f"visitor-{days_ago}",
        created_at=utc_text(NOW - timedelta(days=days_ago)),
        action="grant" if granted else "refusal",
        granted=("necessary", *granted),
        refused=tuple(name for name in optional if name not in granted),
        revision=1,
        shown_hash="0" * 64,
        gpc=False,
        source="json",
        user_agent="cli-test",
        ip=None,
    )


def _seed(backend: Backend) -> str:
    """Records made 40, 35, 10 and 0 days ago; returns the policy file."""

    async def seed() -> None:
        store = backend.store()
        try:
            await store.init()
            await store.append([_decision(40, ("analytics",)), _decision(35, ())])
            await store.append([_decision(10, ("analytics", "advertisement")), _decision(0, ())])
        finally:
            await store.close()

    asyncio.run(seed())
    return backend.policy_file()


def _sql(backend: Backend, statement: str) -> None:
    async def run() -> None:
        store: Store = backend.store()
        try:
            async with store.engine.begin() as conn:
                await conn.execute(text(statement.replace("{t}", f"{backend.prefix}records")))
        finally:
            await store.close()

    asyncio.run(run())


def test_export_json_lines_and_csv_within_a_window(
    backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _seed(backend)
    assert main(["records", "export", "--config", config]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4]
    assert lines[0]["granted"] == ["necessary", "analytics"]
    assert lines[1]["prev_hash"] == lines[0]["hash"]

    since = (NOW - timedelta(days=36)).date().isoformat()
    until = (NOW - timedelta(days=5)).date().isoformat()
    args = ["records", "export", "--config", config, "--format", "csv", "--since", since]
    assert main([*args, "--until", until]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["consent_id"] for row in rows] == ["visitor-35", "visitor-10"]
    assert rows[1]["granted"] == "necessary,analytics,advertisement"


def test_verify_names_the_tampered_record(
    backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _seed(backend)
    assert main(["records", "verify", "--config", config]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: 4 records, chain intact; head #4 ")
    noted = out.split()[-1]
    assert main(["records", "verify", "--config", config, "--expect", noted]) == 0
    capsys.readouterr()
    _sql(backend, "UPDATE {t} SET action = 'grant' WHERE seq = 2")
    assert main(["records", "verify", "--config", config]) == 1
    out = capsys.readouterr().out
    assert out.startswith("TAMPERED: record #2 ")
    assert "edited" in out


def test_verify_expect_catches_a_rewritten_chain(
    backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _seed(backend)
    assert main(["records", "verify", "--config", config, "--expect", "f" * 64]) == 1
    assert f"the head {'f' * 64} noted earlier is not in the chain" in capsys.readouterr().out


def test_prune_keeps_the_chain_verifiable(
    backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _seed(backend)
    assert main(["records", "prune", "--config", config, "--older-than", "30d"]) == 0
    assert capsys.readouterr().out.startswith("pruned 2 records")
    assert main(["records", "verify", "--config", config]) == 0
    assert "ok: 2 records, chain intact, 2 pruned before it" in capsys.readouterr().out
    _sql(backend, "DELETE FROM {t} WHERE seq = 3")
    assert main(["records", "verify", "--config", config]) == 1
    assert "record #3 before record #4" in capsys.readouterr().out


def test_stats_table_and_chart(
    backend: Backend, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = _seed(backend)
    chart = tmp_path / "stats.png"
    args = ["records", "stats", "--config", config, "--period", "month", "--plot", str(chart)]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["period", "decisions", "functional"]
    assert out[-1].split() == ["all", "4", "0.0%", "50.0%", "0.0%", "25.0%"]
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_commands_explain_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    off = tmp_path / "off.yaml"
    off.write_text(Path("examples/consent.yaml").read_text() + "\nrecords: false\n")
    assert main(["records", "verify", "--config", str(off)]) == 2
    assert "records are turned off" in capsys.readouterr().err
    empty = Backend("sqlite", f"sqlite:///{tmp_path / 'none.db'}", "consent_", tmp_path)
    assert main(["records", "export", "--config", empty.policy_file()]) == 2
    assert "no records database" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["records", "prune", "--config", str(off), "--older-than", "soon"])
