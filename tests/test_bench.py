"""The benchmark's instrument: its pure parts, its wrk script, and one real smoke run.

Its figures are not tested here (they depend on the machine); what is tested is that
it reads the right numbers, does the right arithmetic, refuses bad runs and bad
output, and runs end to end.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2
import pytest

from bench import lua, measure, procstat, profile, wrk
from bench.__main__ import _arguments, main
from bench.checks import CheckFailed, check_received, check_response
from bench.cookies import (
    COUNTER,
    FIRST_COUNTER,
    KNOWN_NAMES,
    MANY,
    Jar,
    RequestTemplate,
    fresh_names,
)
from bench.environment import cpu_model
from bench.figures import Figures, Spread
from bench.goals import (
    GOALS,
    INFORMATION,
    READ_ONLY,
    REFERENCE,
    Ratio,
    check_ratios,
    missed,
    window_ratios,
)
from bench.groups import GROUPS, GROUPS_BY_KEY, Group, GroupError, check, rotated
from bench.measure import MeasureError, Reading, Sample, Target, cpu_us_per_page, parse_served
from bench.pinning import Pinning, affinity, available, pin, threads
from bench.report import RunSettings, render
from bench.rows import ROWS, ROWS_BY_KEY, SERVERS
from bench.scan import pages_per_phase
from bench.servers import Server
from bench.shop import greeting
from bench.stacks import STACKS
from bench.visitors import Visitor
from tests.conftest import missing

# --- /proc/<pid>/stat --------------------------------------------------------------

# A command name with spaces and parentheses: fields are counted from the last ")".
STAT_LINE = (
    "4242 (python (bench) x) S 1 4242 4242 0 -1 4194560 9512 0 0 0 "
    "1234 567 0 0 20 0 3 0 88123 123456789 5000 18446744073709551615"
)


def test_stat_fields_14_and_15_are_user_and_system_ticks() -> None:
    times = procstat.parse_stat(STAT_LINE)
    assert (times.user_ticks, times.system_ticks) == (1234, 567)
    assert times.seconds == pytest.approx(1801 / procstat.TICKS_PER_SECOND)


@pytest.mark.parametrize("line", ["4242 python S 1", "4242 (python) S 1 2 3"])
def test_a_stat_line_that_is_not_one_is_refused(line: str) -> None:
    with pytest.raises(ValueError, match="stat"):
        procstat.parse_stat(line)


def test_the_cpu_time_read_from_proc_agrees_with_the_process_clock() -> None:
    before, clock = procstat.read(os.getpid()), time.process_time()
    while time.process_time() - clock < 0.3:  # work, not sleep
        sum(range(10_000))
    after, spent = procstat.read(os.getpid()), time.process_time() - clock
    tick = 1 / procstat.TICKS_PER_SECOND
    assert after.seconds - before.seconds == pytest.approx(spent, abs=3 * tick)


def test_the_process_cpu_clock_agrees_with_proc_stat_to_a_tick() -> None:
    """The benchmark reads the CPU-time clock: /proc/<pid>/stat's total, in ns, not ticks."""
    code = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    with subprocess.Popen([sys.executable, "-c", code]) as child:  # noqa: S603 - our own code
        time.sleep(0.15)
        stat, clock = procstat.read(child.pid).seconds, procstat.cpu_seconds(child.pid)
        assert clock != round(clock, 2)  # finer than ticks of 10 ms (one chance in 100 not)
        assert stat <= clock + 1e-9
        assert clock - stat < 3 / procstat.TICKS_PER_SECOND
        child.wait()
    with pytest.raises(ProcessLookupError):
        procstat.cpu_seconds(child.pid)


def test_the_process_cpu_clock_counts_every_thread() -> None:
    before = procstat.cpu_seconds(os.getpid())

    def work() -> None:
        while time.thread_time() < 0.2:  # this thread's own CPU time
            sum(range(10_000))

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert procstat.cpu_seconds(os.getpid()) - before >= 0.2


# --- wrk's output ---------------------------------------------------------------------

WRK_OUTPUT = """\
Running 3s test @ http://127.0.0.1:40001/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   441.87us  102.13us   2.47ms   86.97%
    Req/Sec     9.08k   421.06     9.54k    85.00%
  13617 requests in 1.50s, 62.20MB read
Requests/sec:   9078.00
Transfer/sec:     41.47MB
"""


def test_wrk_output_gives_requests_and_seconds() -> None:
    run = wrk.parse(WRK_OUTPUT)
    assert (run.requests, run.seconds) == (13617, 1.5)
    assert run.requests_per_second == pytest.approx(9078.0)


def test_wrk_durations_in_milliseconds_are_converted() -> None:
    run = wrk.parse(WRK_OUTPUT.replace("in 1.50s,", "in 299.47ms,"))
    assert run.seconds == pytest.approx(0.29947)


def test_wrk_zero_socket_errors_are_no_error() -> None:
    zero = "  Socket errors: connect 0, read 0, write 0, timeout 0\n"
    assert wrk.parse(WRK_OUTPUT + zero).requests == 13617


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("  Non-2xx or 3xx responses: 3\n", "3 responses that are not 2xx or 3xx"),
        ("  Socket errors: connect 0, read 2, write 0, timeout 0\n", "socket errors"),
        ("  Socket errors: connect 0, read 0, write 0, timeout 1\n", "socket errors"),
    ],
)
def test_a_wrk_run_with_failed_requests_is_refused(extra: str, message: str) -> None:
    lines = WRK_OUTPUT.splitlines(keepends=True)
    output = "".join([*lines[:6], extra, *lines[6:]])  # where wrk prints them
    with pytest.raises(wrk.WrkError, match=message):
        wrk.parse(output)


@pytest.mark.parametrize(
    "output", ["", WRK_OUTPUT.replace("13617 requests", "0 requests")], ids=["empty", "none"]
)
def test_a_wrk_run_without_requests_is_refused(output: str) -> None:
    with pytest.raises(wrk.WrkError):
        wrk.parse(output)


def test_wrk_runs_one_thread_and_16_connections_with_a_backstop_duration() -> None:
    command = wrk.command("http://127.0.0.1:1/", Path("a.lua"), 1.8)
    assert command[:4] == [wrk.WRK, "-t1", "-c16", "-d3s"]  # -d: at least 1 s more
    assert command[4:] == ["-s", "a.lua", "http://127.0.0.1:1/"]


# --- pinning -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpus", "chosen"),
    [
        ({0, 1}, Pinning(server=1, wrk=0)),
        ({3, 0, 2, 1}, Pinning(server=1, wrk=0)),
        ({5, 2}, Pinning(server=5, wrk=2)),  # a container allowed two CPUs of many
        ({0}, None),
        ({3}, None),
    ],
)
def test_servers_go_to_the_second_cpu_and_wrk_to_the_first_with_two_or_more(
    cpus: set[int], chosen: Pinning | None
) -> None:
    assert Pinning.choose(cpus) == chosen


def test_the_pinning_is_described_for_the_report() -> None:
    assert Pinning.describe(Pinning(1, 0)) == "servers pinned to CPU 1, wrk to CPU 0"
    assert Pinning.describe(None) == "not pinned (one CPU)"


def test_pinning_moves_every_thread_of_a_running_process() -> None:
    code = (
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    with subprocess.Popen(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "ready\n"
            assert len(threads(child.pid)) == 2
            assert affinity(child.pid) == available()  # inherited, before
            cpu = max(available())
            pin(child.pid, cpu)
            assert [os.sched_getaffinity(tid) for tid in threads(child.pid)] == [{cpu}, {cpu}]
            assert affinity(child.pid) == {cpu}
        finally:
            child.kill()
    with pytest.raises(ProcessLookupError):
        pin(child.pid, cpu)


# --- the timed window ---------------------------------------------------------------------


def test_a_window_divides_the_server_cpu_by_the_pages_it_counted() -> None:
    before, after = Reading(cpu_seconds=12.5, pages=1_000), Reading(cpu_seconds=12.8, pages=4_000)
    assert cpu_us_per_page(before, after) == pytest.approx(100.0)  # 0.3 s over 3,000 pages
    assert cpu_us_per_page(before, Reading(12.5, 1_001)) == 0.0


@pytest.mark.parametrize(
    ("after", "message"),
    [
        (Reading(13.0, 1_000), "0 pages"),
        (Reading(13.0, 990), "-10 pages"),
        (Reading(12.0, 2_000), "back"),
    ],
)
def test_a_window_without_pages_or_with_time_going_back_is_refused(
    after: Reading, message: str
) -> None:
    with pytest.raises(MeasureError, match=message):
        cpu_us_per_page(Reading(12.5, 1_000), after)


def test_the_page_counter_is_read_from_the_served_route() -> None:
    assert parse_served(b'{"pages": 1234}') == 1234
    assert parse_served(b'{"pages": 0}') == 0
    for wrong in (
        b"",
        b"[]",
        b'"x"',
        b'{"page": 1}',
        b'{"pages": -1}',
        b'{"pages": 1.5}',
        b'{"pages": true}',
        b"\xff",
    ):
        with pytest.raises(MeasureError, match="page count"):
            parse_served(wrong)


def test_the_warmup_is_an_option_and_the_quick_run_keeps_it() -> None:
    assert (_arguments([]).warmup, _arguments([]).duration, _arguments([]).rounds) == (0.4, 1.5, 9)
    assert _arguments(["--warmup", "0.5"]).warmup == 0.5
    quick = _arguments(["--quick", "--warmup", "0.1"])
    assert (quick.rounds, quick.duration, quick.warmup) == (1, 0.3, 0.1)
    assert _arguments(["--quick"]).warmup == 0.4
    with pytest.raises(SystemExit):
        _arguments(["--warmup", "-1"])


# --- groups -----------------------------------------------------------------------------------


def test_the_groups_can_be_timed_as_they_are() -> None:
    check(GROUPS)
    check_ratios([*GOALS, *INFORMATION], GROUPS)
    for group in GROUPS:
        servers = [ROWS_BY_KEY[key].server for key in group.rows]
        assert len(set(servers)) == len(servers), group.key  # one wrk per server at a time
        assert [ROWS_BY_KEY[key].stack for key in group.rows].count("bare") <= 1
    assert {key for group in GROUPS for key in group.rows} == set(ROWS_BY_KEY)


def test_every_goal_has_its_rows_their_baselines_and_its_reference_in_its_group() -> None:
    for ratio in (*GOALS, *INFORMATION):
        rows = GROUPS_BY_KEY[ratio.group].rows
        assert ratio.row in rows, ratio
        assert ratio.over in rows, ratio
        for key in (ratio.row, ratio.over):
            baseline = ROWS_BY_KEY[key].baseline
            assert ratio.whole or baseline in rows, ratio
    # (a), (b) and (c) over the re-signing session given the same request, same bare row.
    for goal in GOALS[:3]:
        row, over = ROWS_BY_KEY[goal.row], ROWS_BY_KEY[goal.over]
        assert over.stack == REFERENCE
        assert over.expect.name == "SESSION_RESIGNED"
        assert row.baseline == over.baseline == f"bare-{goal.row}"


def test_each_reference_gets_its_goal_s_request_with_a_session_instead_of_consent() -> None:
    people = visitors(3)
    for key, reference in (
        ("a", "session-resign"),
        ("b", "session-resign-b"),
        ("c", "session-resign-c"),
    ):
        row, over = ROWS_BY_KEY[key], ROWS_BY_KEY[reference]
        for visitor in people:
            credential = f"cred=v{visitor.index}.session-resign"
            sent = row.pieces(visitor, row.stack)
            if key == "c":  # an undecided visitor has no consent cookie: a session is added
                assert over.pieces(visitor, over.stack) == [*sent, credential]
            else:
                consent = f"cred=v{visitor.index}.consent"
                assert over.pieces(visitor, over.stack) == [
                    credential if piece == consent else piece for piece in sent
                ]
            bare = ROWS_BY_KEY[row.baseline or ""].pieces(visitor, "bare")
            assert [piece for piece in sent if not piece.startswith("cred=")] == bare


def test_two_rows_of_one_stack_timed_together_load_two_servers() -> None:
    known, unseen = ROWS_BY_KEY["known-200"], ROWS_BY_KEY["unseen-200"]
    assert known.stack == unseen.stack == "consent"
    assert (known.server, unseen.server) == ("consent", "consent-2")
    assert SERVERS == {
        "bare": "bare",
        "session-resign": "session-resign",
        "session": "session",
        "consent": "consent",
        "consent-large": "consent-large",
        "consent-regimes-csp": "consent-regimes-csp",
        "consent-2": "consent",
    }


@pytest.mark.parametrize(
    ("groups", "problem"),
    [
        ((Group("x", "", ("a", "b", "bare-a", "bare-b")), *GROUPS), "rows on one server"),
        ((Group("x", "", ("a", "large")), *GROUPS), "without its baseline bare-a"),
        ((Group("x", "", ("nope",)), *GROUPS), "no such rows"),
        ((Group("a", "", ("bare-a",)), *GROUPS), "two groups of one name"),
        (GROUPS[:-1], "rows in no group"),
    ],
)
def test_groups_that_cannot_be_timed_are_refused(groups: tuple[Group, ...], problem: str) -> None:
    with pytest.raises(GroupError, match=problem):
        check(groups)


def test_a_ratio_whose_rows_are_not_timed_together_is_refused() -> None:
    with pytest.raises(GroupError, match="not in group"):
        check_ratios([Ratio("b", "b", REFERENCE, "(b) ÷ the (a) reference", 0.6)], GROUPS)
    with pytest.raises(GroupError, match="no group"):
        check_ratios([Ratio("z", "a", REFERENCE, "?")], GROUPS)


def test_rounds_rotate_the_order_of_the_groups() -> None:
    orders = [[group.key for group in rotated(GROUPS, index)] for index in range(len(GROUPS))]
    assert {order[0] for order in orders} == {group.key for group in GROUPS}
    assert all(sorted(order) == sorted(orders[0]) for order in orders)
    assert rotated(GROUPS, len(GROUPS)) == list(GROUPS)


# --- per-window ratios, medians, goals and the report ------------------------------------------


def window_samples(
    cpu: Mapping[str, Mapping[str, list[float]]],
    rates: Mapping[tuple[str, str], list[float]] | None = None,
) -> dict[str, dict[str, list[Sample]]]:
    """Samples of every group: ``cpu[group][row]`` per round (µs), steady requests/s."""
    out: dict[str, dict[str, list[Sample]]] = {}
    for group, rows in cpu.items():
        out[group] = {}
        for key, values in rows.items():
            speeds = (rates or {}).get((group, key), [10_000.0] * len(values))
            out[group][key] = [Sample(v, 1000, r) for v, r in zip(values, speeds, strict=True)]
    return out


# Three windows per group. Group a: the host slows the second window down and speeds the
# third up, for all its rows alike. (a)'s overhead is 20, 25, 24 µs over a reference of
# 40, 50, 30: ratios 0.5, 0.5, 0.8, median 0.5 (met, exactly), where the medians'
# ratio would be 24 / 40 = 0.6. (b) 30 over 40 in every window: 0.75 (missed); (c) 0.75
# (met); large 22 over (a)'s 20: 1.1 (met, exactly); 500 / 240 = 2.08 (missed).
WINDOWS = {
    "a": {
        "bare-a": [50.0, 60.0, 45.0],
        "session-resign": [90.0, 110.0, 75.0],
        "a": [70.0, 85.0, 69.0],
    },
    "b": {
        "bare-b": [52.0, 50.0, 54.0],
        "session-resign-b": [92.0, 90.0, 94.0],
        "b": [82.0, 80.0, 84.0],
    },
    "c": {
        "bare-c": [48.0, 48.0, 48.0],
        "session-resign-c": [88.0, 88.0, 88.0],
        "c": [78.0, 78.0, 78.0],
    },
    "large": {"bare-a": [50.0, 50.0, 50.0], "a": [70.0, 70.0, 70.0], "large": [72.0, 72.0, 72.0]},
    "regimes-csp": {
        "bare-a": [50.0, 50.0, 50.0],
        "session-resign": [90.0, 90.0, 90.0],
        "regimes-csp": [86.0, 86.0, 86.0],
    },
    "200": {"known-200": [240.0, 240.0, 240.0], "unseen-200": [500.0, 500.0, 500.0]},
    "sessions": {
        "bare-a": [50.0, 60.0, 45.0],
        "session-resign": [90.0, 110.0, 75.0],
        "session": [75.0, 95.0, 65.0],
    },
}
SETTINGS = RunSettings(
    rounds=3, seconds=1.5, warmup=0.4, visitors=64, threads=1, connections=16,
    pinning=Pinning(server=1, wrk=0),
)  # fmt: skip


def figures_of(cpu: Mapping[str, Mapping[str, list[float]]] = WINDOWS) -> Figures:
    return Figures.of(GROUPS, window_samples(cpu))


def test_a_ratio_is_taken_in_each_window_and_only_then_the_median() -> None:
    assert window_ratios([20, 25, 24], [40, 50, 30]) == [0.5, 0.5, 0.8]
    assert window_ratios([20, 25], [40, 0]) is None  # a window without a positive cost
    assert window_ratios([20, 25], [40, -1]) is None
    with pytest.raises(ValueError, match="one numerator per denominator"):
        window_ratios([1, 2], [3])
    assert Spread.of([0.5, 0.8, 0.5]) == Spread(0.5, 0.5, 0.8)
    assert Spread.of([4.0, 1.0, 2.0, 3.0]) == Spread(2.5, 1.0, 4.0)  # an even count: the mean
    with pytest.raises(ValueError, match="no value"):
        Spread.of([])
    goal = GOALS[0]
    figures = figures_of()
    assert goal.windows(figures) == pytest.approx([0.5, 0.5, 0.8])
    assert goal.spread(figures) == pytest.approx(Spread(0.5, 0.5, 0.8))
    assert goal.value(figures) == 0.5  # not 0.6, the ratio of the medians


def test_a_row_s_overhead_is_taken_over_its_baseline_in_the_same_window() -> None:
    figures = figures_of()
    group = figures.groups["a"]
    assert group.rounds == 3
    assert group.cpu_us("a") == [70.0, 85.0, 69.0]
    assert group.overhead_us("a") == [20.0, 25.0, 24.0]
    assert group.overhead_us("bare-a") is None
    row = group.row("a")
    assert (row.cpu, row.overhead) == (Spread(70.0, 69.0, 85.0), Spread(24.0, 20.0, 25.0))
    assert figures.groups["b"].overhead_us("b") == [30.0, 30.0, 30.0]  # over bare-b
    assert figures.groups["200"].overhead_us("known-200") is None  # whole CPU only
    assert list(figures.groups) == [group.key for group in GROUPS]
    assert list(figures.groups["a"].rows) == ["bare-a", "session-resign", "a"]
    assert list(figures.groups["sessions"].rows) == ["bare-a", "session-resign", "session"]


def test_a_group_needs_one_sample_per_round_for_every_row() -> None:
    uneven = {**WINDOWS, "c": {**WINDOWS["c"], "c": [78.0, 78.0]}}
    with pytest.raises(ValueError, match="one sample per round"):
        figures_of(uneven)


def test_the_reference_is_the_session_re_signed_per_response() -> None:
    """DESIGN.md: "SessionMiddleware overhead (a valid session, re-signed per response)"."""
    assert REFERENCE == "session-resign"
    assert ROWS_BY_KEY[REFERENCE].expect.name == "SESSION_RESIGNED"
    for goal in GOALS[:3]:
        assert "(reference)" in ROWS_BY_KEY[goal.over].label
        assert ROWS_BY_KEY[goal.over].stack == REFERENCE
    assert ROWS_BY_KEY[READ_ONLY].expect.name == "SESSION_READ"


def test_goal_ratios_divide_the_right_overheads_window_by_window() -> None:
    figures = figures_of()
    values = {goal.row: goal.value(figures) for goal in GOALS}
    assert values == {
        "a": pytest.approx(0.5),
        "b": pytest.approx(0.75),
        "c": pytest.approx(0.75),
        "large": pytest.approx(1.1),
        "unseen-200": pytest.approx(500 / 240),
    }
    assert [goal.row for goal in missed(figures)] == ["b", "unseen-200"]
    information = {info.label: info.value(figures) for info in INFORMATION}
    assert information == {
        "session read only ÷ session re-signed": pytest.approx(20 / 30),  # 25/40, 35/50, 20/30
        "regimes + CSP ÷ session re-signed": pytest.approx(0.9),
    }
    assert all(info.limit is None for info in INFORMATION)
    assert all(info.passed(figures) is None for info in INFORMATION)


def test_a_goal_with_a_window_whose_cost_is_not_positive_is_missed() -> None:
    free = {**WINDOWS, "a": {**WINDOWS["a"], REFERENCE: [90.0, 60.0, 75.0]}}  # 0 in window 2
    figures = figures_of(free)
    assert GOALS[0].windows(figures) is None
    assert GOALS[0].value(figures) is None
    assert GOALS[0].passed(figures) is False
    assert [goal.row for goal in missed(figures)] == ["a", "b", "unseen-200"]
    text = render(figures, SETTINGS, "env")
    assert re.search(r"^a\s+\(a\) ÷ session re-signed\s+n/a .*not positive.*FAIL$", text, re.M)


def sections(text: str) -> dict[str, list[str]]:
    """The report's blocks, each keyed by its first line."""
    blocks = [block.splitlines() for block in text.strip().split("\n\n")]
    return {block[0]: block[1:] for block in blocks}


def by_key(lines: list[str]) -> dict[str, str]:
    return {line.split()[0]: line for line in lines if line.strip() and line[0] != "-"}


def test_the_report_shows_every_group_with_its_rows_and_each_goal_with_its_verdict() -> None:
    text = render(figures_of(), SETTINGS, "CPython 3.x on a test machine")
    blocks = sections(text)
    for group in GROUPS:
        rows = by_key(blocks[f"group {group.key}: {group.title}"])
        assert list(rows)[1:] == list(group.rows)  # after the header
        for key in group.rows:
            assert ROWS_BY_KEY[key].label in rows[key]
            assert ROWS_BY_KEY[key].server in rows[key]
    group_a = by_key(blocks["group a: (a) decided visitor"])
    assert re.search(r"\sconsent\s+70\.0\s+69\.0-85\.0\s+24\.0\s+20\.0-25\.0$", group_a["a"])
    assert re.search(r"\sbare\s+50\.0\s+45\.0-60\.0\s+-$", group_a["bare-a"])
    assert (
        "consent-2"
        in by_key(blocks["group 200: 200 undeclared names: known against never seen"])["unseen-200"]
    )

    goals = by_key(next(lines for title, lines in blocks.items() if title.startswith("Goals:")))
    verdicts = {key: goals[key].split()[-1] for key in ("a", "b", "c", "large", "unseen-200")}
    assert verdicts == {
        "a": "PASS",
        "b": "FAIL",
        "c": "PASS",
        "large": "PASS",
        "unseen-200": "FAIL",
    }
    assert re.search(
        r"\(a\) ÷ session re-signed\s+0\.50\s+0\.50-0\.80\s+≤ 0\.5\s+PASS$", goals["a"]
    )
    assert re.search(r"\s2\.08\s+2\.08-2\.08\s+≤ 2\s+FAIL$", goals["unseen-200"])
    assert text.count("PASS") == 3
    assert text.count("FAIL") == 2
    information = by_key(blocks["For information (no goal):"][:2])
    assert re.search(
        r"session read only ÷ session re-signed\s+0\.67\s+0\.62-0\.70$", information["session"]
    )
    assert "Goals: 3 of 5 met; missed: b, unseen-200" in text
    assert text.endswith(
        "CPython 3.x on a test machine; 3 rounds, each timing every group once (order "
        "rotated), a window of 1.5 s after 0.4 s of warm-up; the rows of a group run "
        "concurrently, each under its own wrk -t1 -c16, their servers sharing CPU 1; medians; "
        "64 visitors; servers pinned to CPU 1, wrk to CPU 0"
    )
    assert "busy" not in text


def test_the_report_says_when_nothing_was_pinned() -> None:
    settings = RunSettings(1, 0.3, 0.0, 8, 1, 16, None)
    text = render(
        figures_of({g: {k: v[:1] for k, v in rows.items()} for g, rows in WINDOWS.items()}),
        settings,
        "env",
    )
    assert "median over 1 round\n" in text
    assert text.endswith(
        "env; 1 round, each timing every group once (order rotated), a window of 0.3 s after "
        "0 s of warm-up; the rows of a group run concurrently, each under its own wrk -t1 "
        "-c16, their servers sharing the machine's CPUs; medians; 8 visitors; not pinned (one CPU)"
    )


def test_the_report_warns_when_requests_per_second_swung_but_keeps_the_figures() -> None:
    quiet = render(figures_of(), SETTINGS, "env")
    rates = {("a", "session-resign"): [10_000.0, 6_000.0, 9_000.0]}
    text = render(Figures.of(GROUPS, window_samples(WINDOWS, rates)), SETTINGS, "env")
    warnings = [line for line in text.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "in groups a 44%;" in warnings[0]  # the reference's swing, the widest of its group
    assert "large" not in warnings[0]
    assert text.replace("\n" + warnings[0], "") == quiet


def test_cpu_model_comes_from_proc_cpuinfo() -> None:
    cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n"
    assert cpu_model(cpuinfo) == "AMD EPYC 7B13"
    assert cpu_model("") == "unknown CPU"


# --- requests and the wrk script ----------------------------------------------------------


def visitors(count: int = 3) -> list[Visitor]:
    """Visitors with made-up credentials, their own for every stack."""
    return [
        Visitor(i, Jar.make(i), "FR", {stack: f"cred=v{i}.{stack}" for stack in STACKS})
        for i in range(count)
    ]


def test_a_template_holds_exactly_one_counter() -> None:
    template = RequestTemplate.of([f"a=1{COUNTER}", "b=2"], ())
    assert template.cookie(7) == "a=17; b=2"
    with pytest.raises(ValueError, match="exactly one counter"):
        RequestTemplate.of(["a=1", "b=2"], ())
    with pytest.raises(ValueError, match="exactly one counter"):
        RequestTemplate.of([f"a={COUNTER}", f"b={COUNTER}"], ())


def test_every_request_of_every_row_changes_and_visitors_do_not_share_values() -> None:
    people = visitors(3)
    for row in ROWS:
        templates = row.templates(people)
        assert templates[0].cookie(1) != templates[0].cookie(2), row.key
        assert len({template.cookie(1) for template in templates}) == 3, row.key


def test_never_seen_names_are_new_for_every_counter_and_known_names_never_are() -> None:
    first, second = fresh_names(FIRST_COUNTER + 1, MANY), fresh_names(FIRST_COUNTER + 2, MANY)
    assert len(set(first) | set(second)) == 2 * MANY
    assert not set(KNOWN_NAMES) & (set(first) | set(second))
    assert [len(name) for name in first] == [len(name) for name in KNOWN_NAMES]


def test_lua_strings_are_escaped_and_control_characters_refused() -> None:
    assert lua.lua_string('a"b\\c') == '"a\\"b\\\\c"'
    with pytest.raises(ValueError, match="printable"):
        lua.lua_string("a\nb")


def test_one_script_serves_one_number_of_fresh_names() -> None:
    mixed = [RequestTemplate.of([COUNTER], ()), RequestTemplate.of([COUNTER], (), fresh=2)]
    with pytest.raises(ValueError, match="fresh names"):
        lua.script("mixed", mixed)


@dataclass
class Recorder:
    """What a tiny HTTP server received, and the status it answers with."""

    status: int = 200
    cookies: list[str] = field(default_factory=list)


@contextmanager
def serving_records() -> Iterator[tuple[str, Recorder]]:
    """A tiny HTTP server in this process that records each request's cookies."""
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn

        def do_GET(self) -> None:
            if self.path == "/served":  # the page counter, as bench/shop.py's
                body = json.dumps({"pages": len(recorder.cookies)}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            recorder.cookies.append(self.headers.get("Cookie", ""))
            self.send_response(recorder.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # wrk drops its connections when it stops: not an error here

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def row_a_script(directory: Path) -> Path:
    """Row (a)'s wrk script for two visitors, written into ``directory``."""
    script = directory / "a.lua"
    script.write_text(lua.script("a", ROWS_BY_KEY["a"].templates(visitors(2))))
    return script


@pytest.fixture
def recording_server() -> Iterator[tuple[str, Recorder]]:
    with serving_records() as served:
        yield served


@pytest.fixture
def recording_servers() -> Iterator[list[tuple[str, Recorder]]]:
    with serving_records() as one, serving_records() as two:
        yield [one, two]


def need_wrk() -> None:
    if not Path(wrk.WRK).exists():
        missing(f"the benchmark needs wrk at {wrk.WRK}; run `make bench` (apt-get install wrk)")


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_a_missing_wrk_skips_except_in_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setattr(wrk, "WRK", "/nonexistent/wrk")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="make bench"):
        need_wrk()


def test_the_wrk_script_sends_what_the_python_side_checks_with_new_names_each_time(
    recording_server: tuple[str, Recorder], tmp_path: Path
) -> None:
    need_wrk()
    url, recorder = recording_server
    row = ROWS_BY_KEY["unseen-200"]
    templates = row.templates(visitors(3))
    script = tmp_path / "unseen.lua"
    script.write_text(lua.script(row.label, templates))
    run = wrk.run(url, script, 0.3)
    assert run.requests >= 10
    counters = []
    names: list[str] = []
    for cookie in recorder.cookies:
        match = re.search(r"_ga_ABC123=GS1\.1\.(\d+)\.", cookie)
        assert match, cookie
        counter = int(match[1])
        counters.append(counter)
        assert cookie == lua.template_for(templates, counter).cookie(counter)
        names += [piece.split("=")[0] for piece in cookie.split("; ") if piece.startswith("n1")]
    assert len(set(counters)) == len(counters)
    assert min(counters) > FIRST_COUNTER  # the known names' counter is never sent
    assert len(names) == MANY * len(counters) == len(set(names))


def test_wrk_runs_with_errors_are_refused(
    recording_server: tuple[str, Recorder], tmp_path: Path
) -> None:
    need_wrk()
    url, recorder = recording_server
    script = row_a_script(tmp_path)
    recorder.status = 500
    with pytest.raises(wrk.WrkError, match="not 2xx or 3xx"):
        wrk.run(url, script, 0.2)
    recorder.status = 200
    script.write_text("request = function(\n")  # a Lua syntax error: wrk goes on without it
    with pytest.raises(wrk.WrkError, match="expected"):
        wrk.run(url, script, 0.2)


def a_server(url: str, pid: int | None = None, name: str = "test") -> Server:
    """The recording server as the benchmark sees a server: this process serves it."""
    return Server("test", url.rstrip("/"), pid or os.getpid(), "http.server", "threads", name)


def test_wrk_is_pinned_to_its_cpu(recording_server: tuple[str, Recorder], tmp_path: Path) -> None:
    need_wrk()
    url, _ = recording_server
    script = row_a_script(tmp_path)
    cpu = max(available())
    with wrk.running(url, script, 2.0, cpu) as load:
        time.sleep(0.3)
        load.pin()
        assert len(threads(load.pid)) >= 2  # its worker thread too
        assert affinity(load.pid) == {cpu}
        assert load.stop().requests > 0


def test_a_wrk_that_ended_before_it_was_stopped_is_refused(
    recording_server: tuple[str, Recorder], tmp_path: Path
) -> None:
    need_wrk()
    url, _ = recording_server
    script = row_a_script(tmp_path)
    with wrk.running(url, script, 2.0) as load:
        os.kill(load.pid, signal.SIGKILL)
        os.waitid(os.P_PID, load.pid, os.WEXITED | os.WNOWAIT)  # ended, not yet reaped
        load.interrupt()
        load.interrupt()  # once is enough
        with pytest.raises(wrk.WrkError, match="ended before it was stopped"):
            load.stop()


def test_a_group_s_window_is_read_for_every_server_while_all_its_wrk_load(
    recording_servers: list[tuple[str, Recorder]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every wrk starts together; after the warm-up every server is read, and again after
    the window, in the same order; then every wrk is stopped at once."""
    need_wrk()
    (url_1, recorder_1), (url_2, recorder_2) = recording_servers
    script = row_a_script(tmp_path)
    servers = [a_server(url_1, 1001, "one"), a_server(url_2, 1002, "two")]
    readings = {
        servers[0].origin: iter([Reading(2.0, 5), Reading(2.003, 35)]),
        servers[1].origin: iter([Reading(7.0, 10), Reading(7.002, 50)]),
    }
    moments: list[tuple[str, float, int, int]] = []  # who, when, pages each received so far

    def read_server(server: Server) -> Reading:
        moments.append(
            (server.name, time.monotonic(), len(recorder_1.cookies), len(recorder_2.cookies))
        )
        return next(readings[server.origin])

    monkeypatch.setattr(measure, "read_server", read_server)
    targets = [Target("x", servers[0], script), Target("y", servers[1], script)]
    started = time.monotonic()
    samples = measure.time_group(targets, warmup=0.3, window=0.4, wrk_cpu=None)
    ended = time.monotonic()
    assert samples["x"].cpu_us == pytest.approx(100.0)  # 3 ms over 30 pages
    assert samples["y"].cpu_us == pytest.approx(50.0)  # 2 ms over 40 pages
    assert (samples["x"].pages, samples["y"].pages) == (30, 40)
    assert samples["x"].requests_per_second > 0
    assert samples["y"].requests_per_second > 0
    assert [who for who, *_ in moments] == ["one", "two", "one", "two"]
    (_, first, *before), (_, _, *_), (_, last_start, *during), (_, last, *_) = moments
    assert first - started >= 0.3  # after the warm-up
    assert last_start - first >= 0.4  # the window
    assert all(count > 0 for count in before)  # both loaded before the window...
    assert all(b < d for b, d in zip(before, during, strict=True))  # ...and in it
    assert during[0] < len(recorder_1.cookies)
    assert during[1] < len(recorder_2.cookies)
    assert ended - last < 0.5  # every wrk stopped at once, not at its -d


def test_a_group_loads_each_server_once(tmp_path: Path) -> None:
    server = a_server("http://127.0.0.1:1/")
    with pytest.raises(ValueError, match="each server once"):
        measure.time_group(
            [Target("x", server, tmp_path / "x.lua"), Target("y", server, tmp_path / "y.lua")],
            warmup=0.1, window=0.1, wrk_cpu=None,
        )  # fmt: skip


def test_a_window_on_a_page_counter_counts_only_its_own_pages(
    recording_server: tuple[str, Recorder], tmp_path: Path
) -> None:
    need_wrk()
    url, recorder = recording_server
    script = row_a_script(tmp_path)
    pinning = Pinning.choose(available())
    wrk_cpu = None if pinning is None else pinning.wrk
    samples = measure.time_group(
        [Target("a", a_server(url), script)], warmup=0.3, window=0.3, wrk_cpu=wrk_cpu
    )
    assert 0 < samples["a"].pages < len(recorder.cookies)  # not the warm-up's, nor the end's
    assert samples["a"].cpu_us > 0  # this process served them: its CPU time was read


def test_a_window_with_more_pages_than_wrk_received_is_refused(
    recording_server: tuple[str, Recorder], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_wrk()
    url, _ = recording_server
    script = row_a_script(tmp_path)
    readings = iter([Reading(2.0, 0), Reading(2.1, 10**9)])
    monkeypatch.setattr(measure, "read_server", lambda server: next(readings))
    with pytest.raises(MeasureError, match="something else"):
        measure.time_group(
            [Target("a", a_server(url), script)], warmup=0.1, window=0.1, wrk_cpu=None
        )


# --- the output checks bite ------------------------------------------------------------------

PAGE = f"<!doctype html><p>{greeting(0)}</p></body></html>"
SETTINGS_PAGE = '<!doctype html><a id="consent-settings" href="/x">Cookies</a></body></html>'
APP_COOKIES = ["sid=1; HttpOnly; Path=/", "_ga=2; Path=/", "_fbp=3; Path=/"]


def response(body: str, set_cookies: list[str], **headers: str) -> httpx2.Response:
    content = body.encode()
    fields = [("content-length", str(len(content))), *headers.items()]
    fields += [("set-cookie", value) for value in set_cookies]
    return httpx2.Response(200, headers=fields, content=content)


def test_the_checks_accept_right_output() -> None:
    check_response(ROWS_BY_KEY["bare-a"], response(PAGE, APP_COOKIES), 0)
    check_response(ROWS_BY_KEY["session"], response(PAGE, APP_COOKIES), 0)
    check_response(ROWS_BY_KEY["a"], response(SETTINGS_PAGE, APP_COOKIES, vary="Cookie"), 0)


@pytest.mark.parametrize(
    ("row", "wrong", "problem"),
    [
        ("bare-a", response(SETTINGS_PAGE, APP_COOKIES), "a banner"),
        ("bare-a", response(PAGE, APP_COOKIES[:2]), "Set-Cookie for"),
        ("session", response(PAGE.replace("customer 0", "customer 1"), APP_COOKIES), "session"),
        ("session-resign", response(PAGE, APP_COOKIES), "Set-Cookie for"),
        ("a", response(SETTINGS_PAGE, APP_COOKIES), "Vary"),
        ("a", response(SETTINGS_PAGE, APP_COOKIES[1:], vary="Cookie"), "Set-Cookie for"),
        ("a", response(PAGE, APP_COOKIES, vary="Cookie"), "settings control"),
        ("c", response(SETTINGS_PAGE, APP_COOKIES[:1]), "no banner"),
        ("regimes-csp", response(SETTINGS_PAGE, APP_COOKIES, vary="Cookie"), "Content-Security"),
        (
            "a",
            httpx2.Response(200, headers={"content-length": "5", "vary": "Cookie"}, content=b"x"),
            "Content-Length",
        ),
    ],
)
def test_the_checks_refuse_wrong_output(row: str, wrong: httpx2.Response, problem: str) -> None:
    with pytest.raises(CheckFailed, match=problem):
        check_response(ROWS_BY_KEY[row], wrong, 0)


def test_the_checks_refuse_an_app_that_received_an_undeclared_cookie() -> None:
    row = ROWS_BY_KEY["b"]
    sent = {"sid", "csrftoken", "_ga", "_ga_ABC123", "_fbp", "__cf_bm", "consent"}
    received = sent - {"__cf_bm", "consent"}
    check_received(row, received, sent, set(row.hidden), 0)
    with pytest.raises(CheckFailed, match="__cf_bm"):
        check_received(row, received | {"__cf_bm"}, sent, set(row.hidden), 0)
    with pytest.raises(CheckFailed, match="did not receive"):
        check_received(row, received - {"_ga"}, sent, set(row.hidden), 0)


# --- end to end ------------------------------------------------------------------------------


def test_the_profile_runs_a_row_in_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONSENT_RECORDS_URL", f"sqlite:///{tmp_path / 'records.db'}")
    profile.main(["b", "--requests", "50", "--top", "8", "--sort", "cumulative"])
    out = capsys.readouterr().out
    assert out.startswith("b: (b) decided + 3 undeclared cookies on consent; 50 requests")
    assert "/consent/" in out.split("Ordered by")[1]  # the middleware, under the profiler


def test_a_quick_run_checks_and_times_every_group(capsys: pytest.CaptureFixture[str]) -> None:
    """The real thing, briefly: seven uvicorn servers, every output check, one short round
    in which every group's rows run together."""
    need_wrk()
    status = main(["--quick", "--quiet", "--check"])
    out = capsys.readouterr().out
    blocks = sections(out)
    for group in GROUPS:
        rows = by_key(blocks[f"group {group.key}: {group.title}"])
        for key in group.rows:
            row = ROWS_BY_KEY[key]
            # key, label, server, then the median and the min-max of the CPU per page
            figures = rf"^{re.escape(key)} .* {re.escape(row.server)} +([\d.]+) +([\d.]+)-([\d.]+)"
            match = re.search(figures, rows[key])
            assert match, f"no figures for {key} in group {group.key}:\n{out}"
            assert float(match[2]) <= float(match[1]) <= float(match[3])
            assert float(match[1]) > 0
    assert out.count("PASS") + out.count("FAIL") == len(GOALS)
    assert status == (1 if "FAIL" in out else 0)
    assert "(httptools, uvloop)" in out
    assert "1 round, each timing every group once (order rotated), a window of 0.3 s after " in out
    assert (
        "0.4 s of warm-up; the rows of a group run concurrently, each under its own wrk -t1 -c16"
        in out
    )
    assert Pinning.describe(Pinning.choose(available())) in out


def test_the_scan_benchmark_reads_pages_per_phase_from_the_progress_lines() -> None:
    progress = (
        "after reject all: 30 pages read\n"
        "before any choice: 1 page read\n"
        "some other line: 5 pages read\n"
        "  after accept all: 29 pages read\n"
    )
    assert pages_per_phase(progress) == {
        "after reject all": 30,
        "before any choice": 1,
        "after accept all": 29,
    }
