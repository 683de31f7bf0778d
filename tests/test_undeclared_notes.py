"""The middleware notes the undeclared names it sees, bounded, logged once, and kept in a
file that several processes share."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from consent import ConsentMiddleware
from consent.enforcement.undeclared import (
    EARLIER,
    MAX_NAMES,
    MAX_WRITERS,
    Snapshot,
    UndeclaredNames,
    merged,
)
from tests.conftest import KEY, header_app, small_policy


def middleware(notes_file: Path | None = None, *, app_cookies: bytes = b"") -> ConsentMiddleware:
    settings = f"undeclared_notes: {notes_file}\n" if notes_file else ""
    headers = [(b"set-cookie", app_cookies)] if app_cookies else []
    return ConsentMiddleware(header_app(headers), policy=small_policy(settings), secret_keys=KEY)


def test_names_in_requests_and_responses_are_noted_without_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = middleware(app_cookies=b"_tracker=SECRET-VALUE; Path=/")
    client = TestClient(app)
    with caplog.at_level(logging.WARNING, logger="consent.undeclared"):
        client.get("/basket", headers={"cookie": "sid=1; _hj=VALUE1; nameless; _ga=2"})
        client.get("/checkout", headers={"cookie": "_hj=VALUE2"})
        client.get("/checkout", headers={"cookie": "sid=1;  _hj=VALUE3"})  # spaced: one name
    notes = {(n["name"], n["kind"]): n for n in app.undeclared.snapshot()}
    assert set(notes) == {("_hj", "request"), ("_tracker", "response")}
    assert notes[("_hj", "request")]["count"] == 3
    assert notes[("_hj", "request")]["path"] == "/checkout"  # the last one
    assert notes[("_tracker", "response")]["count"] == 3
    assert "VALUE" not in json.dumps(app.undeclared.snapshot())
    # Logged once per name and kind, with where it was first seen.
    messages = [r.getMessage() for r in caplog.records if r.name == "consent.undeclared"]
    assert len(messages) == 2
    assert any("'_hj', first seen in a request to '/basket'" in m for m in messages)


def test_the_log_names_the_likely_service(caplog: pytest.LogCaptureFixture) -> None:
    app = middleware(app_cookies=b"_hjSessionUser_123=1; Path=/")
    with caplog.at_level(logging.WARNING, logger="consent.undeclared"):
        TestClient(app).get("/")
    [message] = [r.getMessage() for r in caplog.records if r.name == "consent.undeclared"]
    assert "'_hjSessionUser_123', first seen in a response of '/'" in message
    assert "Hotjar" in message
    assert "services: [hotjar]" in message


def test_declared_names_are_not_noted() -> None:
    app = middleware(app_cookies=b"_ga=1; Path=/")
    TestClient(app).get("/", headers={"cookie": "sid=1; _ga=2"})
    assert app.undeclared.snapshot() == []


def test_the_tables_are_bounded_and_unsafe_names_are_left_out() -> None:
    notes = UndeclaredNames(is_safe=lambda name: name.isalnum())
    notes.saw([b"bad name", b"a;b"], "request", "/")
    assert notes.snapshot() == []
    notes.saw([b"x%d" % i for i in range(MAX_NAMES + 10)], "request", "/")
    assert len(notes.notes["request"]) == MAX_NAMES
    assert notes.dropped["request"] == 10
    # Names sent by clients cannot crowd out what the app sets.
    notes.saw([b"fromapp"], "response", "/")
    assert [n["name"] for n in notes.snapshot() if n["kind"] == "response"] == ["fromapp"]


def test_the_catalogue_suggestion_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    notes = UndeclaredNames(is_safe=str.isidentifier, suggest=lambda name: f"guess for {name}")
    with caplog.at_level(logging.WARNING, logger="consent.undeclared"):
        notes.saw([b"_hjSession_1"], "response", "/")
    assert "guess for _hjSession_1" in caplog.records[0].getMessage()


def test_the_file_is_written_on_a_new_name_and_at_shutdown(tmp_path: Path) -> None:
    file = tmp_path / "notes.json"
    policy = small_policy(f"undeclared_notes: {file}\n")
    app = ConsentMiddleware(Starlette(), policy=policy, secret_keys=KEY)
    with TestClient(app) as client:  # runs the lifespan
        client.get("/", headers={"cookie": "_hj=1"})
        client.get("/", headers={"cookie": "_hj=1"})
    data = json.loads(file.read_text())
    assert data["version"] == 1
    [note] = data["names"]
    assert (note["name"], note["kind"], note["count"]) == ("_hj", "request", 2)


def test_processes_sharing_the_file_keep_their_own_sections(tmp_path: Path) -> None:
    file = tmp_path / "notes.json"
    first, second = (UndeclaredNames(is_safe=str.isidentifier, file=file) for _ in range(2))
    second._writer += "-second"  # two processes: two writers
    first.saw([b"_hj"], "request", "/a")
    second.saw([b"_hj", b"_hj"], "request", "/b")
    first.write(first.take_snapshot())
    second.write(second.take_snapshot())
    first.write(first.take_snapshot())  # again: replaces its section, adds nothing
    data = json.loads(file.read_text())
    assert len(data["writers"]) == 2
    assert [(n["name"], n["count"]) for n in data["names"]] == [("_hj", 3)]


def test_a_broken_file_is_started_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    file = tmp_path / "notes.json"
    file.write_text("{not json")
    notes = UndeclaredNames(is_safe=str.isidentifier, file=file)
    notes.saw([b"_hj"], "response", "/")
    notes.write(notes.take_snapshot())
    assert [n["name"] for n in json.loads(file.read_text())["names"]] == ["_hj"]
    assert "unreadable" in caplog.text


def test_merging_skips_malformed_notes() -> None:
    good = {
        "name": "_hj",
        "kind": "request",
        "first_seen": "2026-01-02T00:00:00+00:00",
        "last_seen": "2026-01-03T00:00:00+00:00",
        "count": 2,
        "path": "/a",
    }
    later = {
        **good,
        "first_seen": "2026-01-01T00:00:00+00:00",
        "last_seen": "2026-01-04T00:00:00+00:00",
        "path": "/b",
    }
    writers = {"a": [good, {"name": "x"}, "junk"], "b": [later], "c": "junk"}
    [note] = merged(writers)
    assert note["count"] == 4
    assert note["first_seen"].startswith("2026-01-01")
    assert (note["last_seen"][:10], note["path"]) == ("2026-01-04", "/b")


def test_a_file_that_cannot_be_written_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notes = UndeclaredNames(is_safe=str.isidentifier, file=tmp_path / "missing" / "notes.json")
    notes.saw([b"_hj"], "response", "/")
    notes.write(notes.take_snapshot())
    assert "cannot write the undeclared cookie notes" in caplog.text


def test_writing_happens_off_the_event_loop(tmp_path: Path) -> None:
    file = tmp_path / "notes.json"
    app = middleware(file, app_cookies=b"_tracker=1")

    async def main() -> None:
        sent: list[object] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b""}

        async def send(message: object) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
        await app(scope, receive, send)
        assert app.undeclared.writing is not None
        await app.undeclared.writing

    threads: list[int] = []
    write = UndeclaredNames.write

    def noted_write(self: UndeclaredNames, snapshot: Snapshot) -> None:
        threads.append(threading.get_ident())
        write(self, snapshot)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(UndeclaredNames, "write", noted_write)
        asyncio.run(main())
    assert threads
    assert threading.get_ident() not in threads  # the loop ran in this thread
    assert [n["name"] for n in json.loads(file.read_text())["names"]] == ["_tracker"]


def test_an_older_snapshot_never_overwrites_a_newer_one(tmp_path: Path) -> None:
    # Writes run in threads and may finish out of order.
    notes = UndeclaredNames(is_safe=str.isidentifier, file=tmp_path / "notes.json")
    notes.saw([b"_hj"], "request", "/")
    older = notes.take_snapshot()
    notes.saw([b"_hj"], "request", "/")
    notes.write(notes.take_snapshot())
    notes.write(older)
    [note] = json.loads((tmp_path / "notes.json").read_text())["names"]
    assert note["count"] == 2


def test_the_file_stays_bounded_however_often_the_server_restarts(tmp_path: Path) -> None:
    file = tmp_path / "notes.json"
    for run in range(MAX_WRITERS + 10):  # a process per run, each with a name of its own
        notes = UndeclaredNames(is_safe=str.isidentifier, file=file)
        notes._writer += f"-{run}"
        notes.saw([b"_hj", b"x%d" % run], "request", "/")
        notes.write(notes.take_snapshot())
    data = json.loads(file.read_text())
    assert len(data["writers"]) == MAX_WRITERS
    assert EARLIER in data["writers"]
    # Folding adds the counts up: nothing is lost, nothing counted twice.
    by_name = {note["name"]: note["count"] for note in data["names"]}
    assert by_name["_hj"] == MAX_WRITERS + 10
    assert by_name[f"x{MAX_WRITERS + 9}"] == 1


def test_a_path_cannot_forge_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    notes = UndeclaredNames(is_safe=str.isidentifier)
    with caplog.at_level(logging.WARNING, logger="consent.undeclared"):
        notes.saw([b"_hj"], "request", "/a\nWARNING forged")
    assert "\n" not in caplog.records[0].getMessage()


def test_a_full_table_is_said_once(caplog: pytest.LogCaptureFixture) -> None:
    notes = UndeclaredNames(is_safe=str.isidentifier)
    with caplog.at_level(logging.WARNING, logger="consent.undeclared"):
        notes.saw([b"x%d" % i for i in range(MAX_NAMES + 5)], "request", "/")
    full = [r for r in caplog.records if "counted (dropped)" in r.getMessage()]
    assert len(full) == 1
    assert notes.dropped["request"] == 5
