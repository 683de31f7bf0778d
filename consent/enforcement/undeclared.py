"""What the middleware saw that the policy does not declare.

A crawler cannot reach every page (after login, the basket), and a cookie written by a
script never passes a response; but every cookie a browser holds for the site comes back
in requests, and every cookie the app sets passes the middleware. So the middleware
notes each undeclared name it sees: first and last seen, how often, the last path, and
whether it came in a request or out in a response. Never a value.

The notes are bounded: names in requests are chosen by clients, so they get a table of
their own, and once a table is full new names are only counted as dropped (and that is
logged once). Each name is
logged once, on the ``consent.undeclared`` logger, with what the service catalogue says
it probably is. With ``undeclared_notes: FILE`` in the policy the notes are also kept
in that JSON file (on the first sighting of a name, at most every minute after that,
and at shutdown) for ``consent scan --undeclared FILE`` to merge into its report.
Several processes may share the file: each keeps its own section, so counts are never
added twice, and the sections of processes long gone are folded into one, so that the
file stays bounded however often the server restarts.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from .cookies import name_before_equals

log = logging.getLogger("consent.undeclared")
Kind = Literal["request", "response"]
MAX_NAMES = 256  # per kind
MAX_PATH = 200
WRITE_EVERY_S = 60.0
MAX_WRITERS = 16  # sections of the notes file; older ones are folded into EARLIER
EARLIER = "earlier processes"
FILE_VERSION = 1


@dataclass(slots=True)
class Note:
    name: str
    kind: Kind
    first_seen: float
    last_seen: float
    count: int
    path: str

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "count": self.count,
            "path": self.path,
        }


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class Snapshot:
    sequence: int
    notes: list[dict[str, Any]]


class UndeclaredNames:
    """The notes of one process. ``is_safe`` keeps out names that are not cookie
    tokens; ``suggest`` gives the catalogue's guess for a name, or None."""

    def __init__(
        self,
        *,
        is_safe: Callable[[str], bool],
        suggest: Callable[[str], str | None] | None = None,
        file: Path | None = None,
    ) -> None:
        self.is_safe = is_safe
        self.suggest = suggest
        self.file = file
        # By the raw text before "=", as the middleware has it: no decoding per cookie.
        self.notes: dict[Kind, dict[bytes, Note]] = {"request": {}, "response": {}}
        self._logged: set[tuple[str, Kind]] = set()
        self.dropped: dict[Kind, int] = {"request": 0, "response": 0}
        self._writer = f"{socket.gethostname()}:{os.getpid()}:{time.time():.0f}"
        self.writing: asyncio.Future[None] | None = None  # the last write sent off the loop
        self._taken = self._written = 0  # snapshot sequence numbers
        self._write_lock = threading.Lock()
        self._written_at = 0.0

    def saw(self, raw_names: Iterable[bytes], kind: Kind, path: str) -> bool:
        """Note the names (raw text before ``=``); True when the file should be written
        (a name seen for the first time, or a minute since the last write).

        A request may carry hundreds of cookies: a name seen before costs one dictionary
        probe on its raw text, and so does any name once the table is full.
        """
        now = time.time()
        table = self.notes[kind]
        path = path[:MAX_PATH]
        new = False
        for raw in raw_names:
            note = table.get(raw)
            if note is not None:
                note.last_seen = now
                note.count += 1
                note.path = path
                continue
            if len(table) >= MAX_NAMES:
                if not self.dropped[kind]:
                    log.warning(
                        "more than %d undeclared cookie names in %ss: the others are "
                        "counted (dropped), not noted",
                        MAX_NAMES,
                        kind,
                    )
                self.dropped[kind] += 1
                continue
            name = name_before_equals(raw).decode("latin-1")
            if not name or not self.is_safe(name):
                continue
            table[raw] = Note(name, kind, now, now, 1, path)
            if (name, kind) not in self._logged:  # " _hj" and "_hj" are one name
                self._logged.add((name, kind))
                self._log_first(name, kind, path)
                new = True
        return self.file is not None and (new or now - self._written_at >= WRITE_EVERY_S)

    def _log_first(self, name: str, kind: Kind, path: str) -> None:
        where = "a request to" if kind == "request" else "a response of"
        guess = self.suggest(name) if self.suggest is not None else None
        advice = (
            f"The service catalogue says: {guess}"
            if guess
            else "Declare it in the policy (`consent scan` proposes the declarations)."
        )
        log.warning("undeclared cookie %r, first seen in %s %r. %s", name, where, path, advice)

    def snapshot(self) -> list[dict[str, Any]]:
        """This process's notes, one per name and kind, as ``consent scan --undeclared``
        reads them."""
        notes = [*self.notes["response"].values(), *self.notes["request"].values()]
        return merged({"this process": [note.as_json() for note in notes]})

    def take_snapshot(self) -> Snapshot:
        """What to write now (:meth:`saw` said so, or the server stops), taken on the
        event loop, where the tables change."""
        self._written_at = time.time()
        self._taken += 1
        return Snapshot(self._taken, self.snapshot())

    def write(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` in the file as this process's section, beside the other
        processes' sections; an older snapshot than one already written is skipped
        (writes run in threads and may finish out of order).

        Blocking (open, lock, rewrite): call it off the event loop.
        """
        if self.file is None:
            return
        with self._write_lock:
            if snapshot.sequence <= self._written:
                return
            try:
                self._rewrite(self.file, snapshot.notes)
            except OSError as error:
                log.warning("cannot write the undeclared cookie notes to %s: %s", self.file, error)
            else:
                self._written = snapshot.sequence

    def _rewrite(self, file: Path, notes: list[dict[str, Any]]) -> None:
        with open(file, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # other processes share the file
            handle.seek(0)
            writers = _read_writers(handle.read())
            writers[self._writer] = notes
            writers = _bounded(writers, self._writer)
            handle.seek(0)
            handle.truncate()
            content = {"version": FILE_VERSION, "writers": writers, "names": merged(writers)}
            json.dump(content, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())


def _read_writers(text: str) -> dict[str, list[dict[str, Any]]]:
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        log.warning("the undeclared cookie notes file was unreadable; starting it again")
        return {}
    writers = data.get("writers") if isinstance(data, dict) else None
    return writers if isinstance(writers, dict) else {}


def _bounded(writers: dict[str, Any], own: str) -> dict[str, Any]:
    """At most ``MAX_WRITERS`` sections: every restart adds one, so the sections of the
    processes least recently at work are folded into one for earlier processes (counts
    added, as :func:`merged` adds them), which keeps its ``2 * MAX_NAMES`` most recent
    notes. The file stays bounded however often the server restarts."""
    if len(writers) <= MAX_WRITERS:
        return writers

    def newest(notes: Any) -> str:
        seen = [note["last_seen"] for note in notes if _is_note(note)]
        return max(seen, default="") if isinstance(notes, list) else ""

    others = sorted(
        (key for key in writers if key not in (own, EARLIER)),
        key=lambda key: newest(writers[key]),
        reverse=True,
    )
    kept = [own, *others[: MAX_WRITERS - 2]]
    folded = {key: notes for key, notes in writers.items() if key not in kept}
    recent = sorted(merged(folded), key=lambda note: note["last_seen"], reverse=True)
    return {**{key: writers[key] for key in kept}, EARLIER: recent[: 2 * MAX_NAMES]}


def merged(writers: dict[str, Any]) -> list[dict[str, Any]]:
    """Every process's notes as one list: per name and kind, counts added, the earliest
    first sighting and the latest last one (with its path). Malformed notes are skipped."""
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for notes in writers.values():
        for note in notes if isinstance(notes, list) else []:
            if not _is_note(note):
                continue
            key = (note["name"], note["kind"])
            seen = by_key.get(key)
            if seen is None:
                by_key[key] = dict(note)
                continue
            seen["count"] += note["count"]
            seen["first_seen"] = min(seen["first_seen"], note["first_seen"])
            if note["last_seen"] > seen["last_seen"]:
                seen["last_seen"], seen["path"] = note["last_seen"], note["path"]
    return [by_key[key] for key in sorted(by_key)]


def _is_note(note: Any) -> bool:
    if not isinstance(note, dict):
        return False
    texts = ("name", "kind", "first_seen", "last_seen", "path")
    return all(isinstance(note.get(key), str) for key in texts) and type(note.get("count")) is int
