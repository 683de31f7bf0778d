"""Which CPU each process runs on: every server on one, every wrk on another.

Left to the scheduler on a machine of two cores, the server and wrk are moved from core
to core and at times share one: the server's CPU per request then swings from run to
run far more than when each keeps a core of its own. On a machine with one CPU nothing
is pinned (there is nothing to choose).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Pinning:
    server: int  # the CPU of every uvicorn server
    wrk: int  # the CPU of every wrk run

    @classmethod
    def choose(cls, available: Collection[int]) -> Pinning | None:
        """wrk on the lowest CPU this process may use, the servers on the next; None with
        fewer than two (on a usual machine of two or more: wrk on CPU 0, servers on CPU 1)."""
        cpus = sorted(set(available))
        if len(cpus) < 2:
            return None
        return cls(server=cpus[1], wrk=cpus[0])

    @staticmethod
    def describe(pinning: Pinning | None) -> str:
        if pinning is None:
            return "not pinned (one CPU)"
        return f"servers pinned to CPU {pinning.server}, wrk to CPU {pinning.wrk}"


def available() -> set[int]:
    """The CPUs this process may run on (a container or taskset may allow fewer than all)."""
    return os.sched_getaffinity(0)


def threads(pid: int) -> list[int]:
    """The thread ids of a process: ``/proc/<pid>/task``."""
    try:
        return sorted(int(task.name) for task in Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        raise ProcessLookupError(f"no process {pid}") from None


def pin(pid: int, cpu: int) -> None:
    """Every thread of ``pid`` onto ``cpu``; the threads it starts afterwards inherit it.

    ``sched_setaffinity`` applies to one thread: a process that already started threads
    has each pinned in turn. Pinning again later pins threads started meanwhile.
    """
    for tid in threads(pid):
        with suppress(ProcessLookupError):  # a thread that ended meanwhile
            os.sched_setaffinity(tid, {cpu})


def affinity(pid: int) -> set[int]:
    """The CPUs any thread of ``pid`` may run on."""
    cpus: set[int] = set()
    for tid in threads(pid):
        with suppress(ProcessLookupError):
            cpus |= os.sched_getaffinity(tid)
    return cpus
