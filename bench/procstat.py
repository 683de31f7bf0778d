"""A process's CPU time: user + system, all its threads, including those that ended.

CPU time, not requests per second: on a shared machine another process slows the
server down but does not make it do more work, so CPU per request holds steady where
requests per second swing by a third.

The benchmark reads it from the process's CPU-time clock (``clock_gettime`` on the clock
``clock_getcpuclockid`` would give): the same total as fields 14 and 15 of
``/proc/<pid>/stat``, in nanoseconds rather than in ticks of 10 ms. Servers that share
a CPU each get a few hundred ms of it in a window, where a tick is a few per cent.
``/proc/<pid>/stat`` is read too, in the tests, to check that both agree.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
_CPUCLOCK_SCHED = 2  # Linux's process CPU clocks: ((~pid) << 3) | CPUCLOCK_SCHED


def clock_id(pid: int) -> int:
    """The id of the CPU-time clock of process ``pid`` (all its threads), as Linux makes it."""
    return ((~pid) << 3) | _CPUCLOCK_SCHED


def cpu_seconds(pid: int) -> float:
    """The CPU time process ``pid`` has used, to the nanosecond; ProcessLookupError if gone."""
    try:
        return time.clock_gettime(clock_id(pid))
    except OSError as error:  # EINVAL: no such process
        raise ProcessLookupError(f"no process {pid}: {error}") from None


@dataclass(frozen=True, slots=True)
class CpuTimes:
    user_ticks: int  # utime, field 14
    system_ticks: int  # stime, field 15

    @property
    def seconds(self) -> float:
        return (self.user_ticks + self.system_ticks) / TICKS_PER_SECOND


def parse_stat(line: str) -> CpuTimes:
    """Fields 14 and 15 of a ``/proc/<pid>/stat`` line.

    Field 2 is the command name in parentheses and may itself hold spaces and
    parentheses, so fields are counted from the last ``)``: field 3 comes right after it.
    """
    closing = line.rfind(")")
    if closing < 0:
        raise ValueError(f"not a /proc/<pid>/stat line: {line[:80]!r}")
    fields = line[closing + 1 :].split()  # fields[0] is field 3
    if len(fields) < 13:
        raise ValueError(f"a /proc/<pid>/stat line with too few fields: {line[:80]!r}")
    return CpuTimes(user_ticks=int(fields[14 - 3]), system_ticks=int(fields[15 - 3]))


def read(pid: int) -> CpuTimes:
    return parse_stat(Path(f"/proc/{pid}/stat").read_text(encoding="ascii"))
