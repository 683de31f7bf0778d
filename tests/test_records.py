"""A record per decision, through the consent endpoints, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from consent import policy_from_string
from consent.records import verify
from examples import starlette_app

from .conftest import KEY
from .records_support import Backend, backend, call, lifespan, make_app, read_chain

__all__ = ["backend"]
pytestmark = pytest.mark.anyio


async def test_each_decision_is_a_chained_record(backend: Backend) -> None:
    app = make_app(backend.policy())
    granted = await call(app, "POST", "/consent", body={"action": "accept_all", "source": "banner"})
    assert granted.status == 200
    cookie = granted.consent_cookie()
    assert cookie is not None
    visitor = [(b"cookie", cookie)]
    changed = await call(app, "POST", "/consent", body={"granted": ["analytics"]}, headers=visitor)
    cookie = changed.consent_cookie()
    assert cookie is not None
    withdrawn = await call(app, "DELETE", "/consent", headers=[(b"cookie", cookie)])
    assert withdrawn.status == 200

    records, head = await read_chain(backend)
    assert verify(records, head).ok
    assert [r.decision.action for r in records] == ["grant", "change", "withdrawal"]
    assert [r.decision.source for r in records] == ["banner", "json", "delete"]
    assert {r.decision.consent_id for r in records} == {granted.json()["consent_id"]}
    assert records[1].decision.granted == ("necessary", "analytics")
    assert records[1].decision.refused == ("functional", "performance", "advertisement")
    assert records[0].decision.user_agent == "records-test/1.0"
    assert records[0].decision.ip is None  # off unless configured
    assert records[1].prev_hash == records[0].hash


async def test_first_refusal_is_a_refusal_with_the_gpc_flag(backend: Backend) -> None:
    app = make_app(backend.policy())
    reply = await call(
        app, "POST", "/consent", body={"action": "reject_all"}, headers=[(b"sec-gpc", b"1")]
    )
    assert reply.status == 200
    records, _ = await read_chain(backend)
    assert [(r.decision.action, r.decision.gpc) for r in records] == [("refusal", True)]


async def test_receipt_shows_only_the_visitors_own_decisions(backend: Backend) -> None:
    app = make_app(backend.policy())
    first = await call(app, "POST", "/consent", body={"action": "accept_all"})
    await call(app, "POST", "/consent", body={"action": "reject_all"})
    cookie = first.consent_cookie()
    assert cookie is not None
    receipt = await call(app, "GET", "/consent/receipt", headers=[(b"cookie", cookie)])
    assert receipt.status == 200
    assert (b"cache-control", b"no-store") in receipt.headers
    body = receipt.json()
    assert body["consent_id"] == first.json()["consent_id"]
    assert [r["action"] for r in body["records"]] == ["grant"]
    assert body["records"][0]["granted"][0] == "necessary"

    undecided = await call(app, "GET", "/consent/receipt")
    assert undecided.status == 200
    assert undecided.json() == {"consent_id": None, "records": []}
    refused = await call(app, "POST", "/consent/receipt", body={})
    assert refused.status == 405
    assert (b"allow", b"GET, HEAD") in refused.headers


@pytest.mark.parametrize(
    ("client", "kept"),
    [("203.0.113.7", "203.0.113.0/24"), ("2001:db8:abcd:12::1", "2001:db8:abcd::/48")],
)
async def test_ip_truncate_keeps_only_the_network(tmp_path: Path, client: str, kept: str) -> None:
    target = Backend("sqlite", f"sqlite:///{tmp_path / 'r.db'}", "consent_", tmp_path)
    app = make_app(target.policy("ip: truncate"))
    await call(app, "POST", "/consent", body={"action": "accept_all"}, client=client)
    records, _ = await read_chain(target)
    assert [r.decision.ip for r in records] == [kept]


async def test_unknown_source_is_refused_and_records_nothing(tmp_path: Path) -> None:
    target = Backend("sqlite", f"sqlite:///{tmp_path / 'r.db'}", "consent_", tmp_path)
    app = make_app(target.policy())
    reply = await call(app, "POST", "/consent", body={"action": "accept_all", "source": "x"})
    assert reply.status == 422
    assert "source" in reply.json()["error"]
    assert not (tmp_path / "r.db").exists()


async def test_records_false_keeps_nothing(tmp_path: Path) -> None:
    text = Path("examples/consent.yaml").read_text() + "\nrecords: false\n"
    app = make_app(policy_from_string(text))
    reply = await call(app, "POST", "/consent", body={"action": "accept_all"})
    assert reply.status == 200
    assert reply.consent_cookie() is not None
    assert (await call(app, "GET", "/consent/receipt")).status == 404


async def test_lifespan_creates_the_schema_before_any_decision(backend: Backend) -> None:
    app = make_app(backend.policy())
    async with lifespan(app):
        records, head = await read_chain(backend)
        assert records == []
        assert head is not None
        assert (await call(app, "POST", "/consent", body={"action": "accept_all"})).status == 200
    records, head = await read_chain(backend)
    assert verify(records, head).ok
    assert len(records) == 1


async def test_grant_waits_for_its_record_and_refusal_does_not(tmp_path: Path) -> None:
    missing = tmp_path / "not-yet"
    target = Backend("sqlite", f"sqlite:///{missing / 'r.db'}", "consent_", tmp_path)
    app = make_app(target.policy("timeout_seconds: 1"))

    grant = await call(app, "POST", "/consent", body={"action": "accept_all"})
    assert grant.status == 503
    assert grant.cookies() == []
    assert "nothing was granted" in grant.json()["error"]
    refusal = await call(app, "POST", "/consent", body={"action": "reject_all"})
    assert refusal.status == 200
    cookie = refusal.consent_cookie()
    assert cookie is not None
    receipt = await call(app, "GET", "/consent/receipt", headers=[(b"cookie", cookie)])
    assert receipt.status == 503

    missing.mkdir()  # the store is back
    assert app.records is not None
    assert await app.records.flush() == 0
    records, head = await read_chain(target)
    assert verify(records, head).ok
    assert [r.decision.action for r in records] == ["refusal"]
    assert records[0].decision.consent_id == refusal.json()["consent_id"]


async def test_records_carry_the_hash_of_the_texts_shown(tmp_path: Path) -> None:
    target = Backend("sqlite", f"sqlite:///{tmp_path / 'r.db'}", "consent_", tmp_path)
    text = target.policy_text()
    edited = text.replace("Remembers the language you chose.", "Remembers your language.")
    for policy_text in (text, text, edited):
        app = make_app(policy_from_string(policy_text))
        assert (await call(app, "POST", "/consent", body={"action": "reject_all"})).status == 200
    records, _ = await read_chain(target)
    first, same, changed = (r.decision.shown_hash for r in records)
    assert first == same
    assert changed != first
    assert len(first) == 64


@pytest.mark.parametrize("with_lifespan", [True, False])
def test_the_example_app_records_with_or_without_lifespan(with_lifespan: bool) -> None:
    client = TestClient(starlette_app.create_app([KEY]))
    with client if with_lifespan else contextlib.nullcontext(client):
        chosen = client.post("/consent", data={"action": "accept_all", "next": "/"})
        assert chosen.status_code == 200  # followed the 303 to the shop
        again = client.post("/consent", json={"granted": ["functional"]})
        assert again.status_code == 200
        receipt = client.get("/consent/receipt").json()
    assert receipt["consent_id"] == again.json()["consent_id"]
    assert [(r["action"], r["source"]) for r in receipt["records"]] == [
        ("grant", "form"),
        ("change", "json"),
    ]


async def test_spooled_refusals_survive_a_restart(tmp_path: Path) -> None:
    missing = tmp_path / "later"
    target = Backend("sqlite", f"sqlite:///{missing / 'r.db'}", "consent_", tmp_path)
    before = make_app(target.policy("timeout_seconds: 1"))
    refusal = await call(before, "DELETE", "/consent")
    assert refusal.status == 200
    assert before.records is not None
    await before.records.shutdown()  # the store is still away: the record stays spooled

    missing.mkdir()
    after = make_app(target.policy())
    async with lifespan(after):  # start-up writes what the previous run spooled
        records, head = await read_chain(target)
    assert verify(records, head).ok
    assert [(r.decision.action, r.decision.source) for r in records] == [("withdrawal", "delete")]
    assert records[0].decision.consent_id == refusal.json()["consent_id"]
