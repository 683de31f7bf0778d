"""The groups of rows timed together, and the order in which a round times them.

The host's noise (another guest on the machine, the hypervisor) moves a server's CPU per
page by ±12 % from one window to the next; the overheads compared are differences of a
few tens of µs on a base of about 70. Timed one after the other, their ratio swings
from 0.1 to 1 between rounds. The rows of a group run at the same time instead, each
under a wrk of its own, their servers sharing one CPU: what the host does then hits all
of them alike and cancels in their differences, and a ratio is taken per window.

A server answers one row at a time, so a group holds at most one row per server: one
bare row, and every row's baseline is in the group of the row. Every goal's group holds
three servers (the bare app, the reference and the row), so that each is timed under
the same sharing of the CPU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .rows import ROWS_BY_KEY, Row


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    title: str
    rows: tuple[str, ...]  # row keys, in the order of the report


GROUPS = (
    Group("a", "(a) decided visitor", ("bare-a", "session-resign", "a")),
    Group("b", "(b) decided, with undeclared cookies", ("bare-b", "session-resign-b", "b")),
    Group("c", "(c) undecided visitor", ("bare-c", "session-resign-c", "c")),
    Group("large", "5,000 declared cookies against the example", ("bare-a", "a", "large")),
    Group("regimes-csp", "regimes + CSP", ("bare-a", "session-resign", "regimes-csp")),
    Group("200", "200 undeclared names: known against never seen", ("known-200", "unseen-200")),
    Group("sessions", "the session re-signed or only read",
          ("bare-a", "session-resign", "session")),
)  # fmt: skip
GROUPS_BY_KEY = {group.key: group for group in GROUPS}


class GroupError(ValueError):
    """Groups that cannot be timed as they are: a server twice, a baseline missing."""


def check(groups: Sequence[Group], rows: Mapping[str, Row] = ROWS_BY_KEY) -> None:
    """Every row exists, is in a group, loads a server no other row of its group loads,
    and has its baseline in its group."""
    keys = [group.key for group in groups]
    if len(set(keys)) != len(keys):
        raise GroupError(f"two groups of one name: {keys}")
    for group in groups:
        unknown = [key for key in group.rows if key not in rows]
        if unknown:
            raise GroupError(f"group {group.key}: no such rows {unknown}")
        if len(set(group.rows)) != len(group.rows):
            raise GroupError(f"group {group.key} holds a row twice")
        servers = [rows[key].server for key in group.rows]
        shared = sorted({server for server in servers if servers.count(server) > 1})
        if shared:
            raise GroupError(f"group {group.key}: rows on one server ({', '.join(shared)})")
        for key in group.rows:
            baseline = rows[key].baseline
            if baseline is not None and baseline not in group.rows:
                raise GroupError(f"group {group.key}: {key} without its baseline {baseline}")
    timed = {key for group in groups for key in group.rows}
    untimed = [key for key in rows if key not in timed]
    if untimed:
        raise GroupError(f"rows in no group: {untimed}")


def rotated(groups: Sequence[Group], round_index: int) -> list[Group]:
    """The order of a round: each round starts one group further."""
    start = round_index % len(groups)
    return [*groups[start:], *groups[:start]]
