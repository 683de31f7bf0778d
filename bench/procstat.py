"""A process's CPU time from ``/proc/<pid>/stat``: user + system, all its threads.

CPU time, not requests per second: on a shared machine another process slows the
server down but does not make it do more work, so CPU per request holds steady where
requests per second swing by a third.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


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
