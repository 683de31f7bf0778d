"""Refusals and withdrawals waiting for the store: a JSON-lines file, fsynced per record.

A refusal is never blocked by the store, so when the store cannot take it the
record goes here first and is written when the store is back. The file is shared
safely between processes (``flock``); if it cannot be written either, the record
waits in memory and a warning says so.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .model import Decision

log = logging.getLogger("consent.records")


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._memory: list[Decision] = []

    def add(self, decisions: Sequence[Decision]) -> None:
        """Append ``decisions`` (one fsync for them all); nothing to do for none."""
        if not decisions:
            return
        try:
            with self._locked("a") as file:
                file.writelines(_line(decision) for decision in decisions)
                file.flush()
                os.fsync(file.fileno())
        except OSError as error:
            log.warning(
                "cannot spool %d consent record(s) to %s (%s); keeping them in memory",
                len(decisions),
                self.path,
                error,
            )
            self._memory.extend(decisions)

    def has_pending(self) -> bool:
        if self._memory:
            return True
        try:
            return self.path.stat().st_size > 0
        except OSError:
            return False

    def pending(self) -> list[Decision]:
        found = {decision.record_id: decision for decision in self._memory}
        try:
            with self._locked("r") as file:
                for decision in _read(file):
                    found.setdefault(decision.record_id, decision)
        except FileNotFoundError:
            pass
        except OSError as error:
            log.warning("cannot read the consent records spool %s: %s", self.path, error)
        return sorted(found.values(), key=lambda decision: decision.created_at)

    def remove(self, record_ids: set[str]) -> None:
        """Forget records now stored; lines added meanwhile by anyone are kept."""
        self._memory = [d for d in self._memory if d.record_id not in record_ids]
        try:
            with self._locked("r+") as file:
                kept = [d for d in _read(file) if d.record_id not in record_ids]
                file.seek(0)
                file.truncate()
                file.writelines(_line(decision) for decision in kept)
                file.flush()
                os.fsync(file.fileno())
        except FileNotFoundError:
            pass
        except OSError as error:
            # The records are stored; a line left here is skipped as a duplicate later.
            log.warning("cannot rewrite the consent records spool %s: %s", self.path, error)

    @contextmanager
    def _locked(self, mode: str) -> Iterator[IO[str]]:
        with open(self.path, mode, encoding="utf-8") as file:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX)
            try:
                yield file
            finally:
                fcntl.flock(file.fileno(), fcntl.LOCK_UN)


def _line(decision: Decision) -> str:
    return json.dumps(decision.content(), separators=(",", ":")) + "\n"


def _read(file: IO[str]) -> Iterator[Decision]:
    for line in file:
        line = line.strip()
        if not line:
            continue
        try:
            yield Decision.from_content(json.loads(line))
        except (ValueError, KeyError, TypeError):
            # A line cut short by a crash mid-write: the decision it held was never answered.
            log.warning("skipping an unreadable line in the consent records spool")
