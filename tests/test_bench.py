"""The benchmark's instrument: its pure parts, its wrk script, and one real smoke run.

Its figures are not tested here (they depend on the machine); what is tested is that
it reads the right numbers, does the right arithmetic, refuses bad runs and bad
output, and runs end to end.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
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
from bench.figures import Figures
from bench.goals import GOALS, INFORMATION, READ_ONLY, REFERENCE, Ratio, missed
from bench.measure import MeasureError, Reading, Sample, cpu_us_per_page, parse_served, rotated
from bench.pinning import Pinning, affinity, available, pin, threads
from bench.report import RunSettings, render
from bench.rows import ROWS, ROWS_BY_KEY
from bench.servers import Server
from bench.shop import greeting
from bench.stacks import STACKS
from bench.visitors import Visitor

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


def test_wrk_runs_one_thread_and_32_connections_with_a_backstop_duration() -> None:
    command = wrk.command("http://127.0.0.1:1/", Path("a.lua"), 1.8)
    assert command[:4] == [wrk.WRK, "-t1", "-c32", "-d3s"]  # -d: at least 1 s more
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
    assert (_arguments([]).warmup, _arguments([]).duration, _arguments([]).rounds) == (0.3, 1.5, 7)
    assert _arguments(["--warmup", "0.5"]).warmup == 0.5
    quick = _arguments(["--quick", "--warmup", "0.1"])
    assert (quick.rounds, quick.duration, quick.warmup) == (1, 0.3, 0.1)
    with pytest.raises(SystemExit):
        _arguments(["--warmup", "-1"])


# --- ratios, goals and the report ------------------------------------------------------


def samples(
    cpu: Mapping[str, list[float]], rates: Mapping[str, list[float]] | None = None
) -> dict[str, list[Sample]]:
    """Samples for every row: ``cpu[key]`` per round (µs), steady requests/s by default."""
    rounds = len(next(iter(cpu.values())))
    out = {}
    for row in ROWS:
        values = cpu[row.key]
        speeds = (rates or {}).get(row.key, [10_000.0] * rounds)
        out[row.key] = [Sample(v, 1000, r) for v, r in zip(values, speeds, strict=True)]
    return out


def steady(**medians: float) -> dict[str, list[float]]:
    """Three rounds per row around each median, one of them an outlier the median ignores."""
    return {key.replace("_", "-"): [m - 1, m, m + 40] for key, m in medians.items()}


# bare 50; the reference (session re-signed) overhead 40, the read-only session's 25;
# (a) 20 → 0.5 (a goal met exactly; 0.8 of the read-only session, which would miss it);
# (b) 30 over a bare of 52 → 0.75 (missed); (c) 30 over 48 → 0.75; large 22 → 1.1 times
# (a), exactly; the 200-name rows: 500 / 240 → 2.083 (missed).
PASSING_AND_FAILING = steady(
    bare_a=50, bare_b=52, bare_c=48, session_resign=90, session=75, a=70, b=82, c=78,
    large=72, regimes_csp=86, known_200=240, unseen_200=500,
)  # fmt: skip
SETTINGS = RunSettings(
    rounds=3, seconds=1.5, warmup=0.3, visitors=64, threads=1, connections=32,
    pinning=Pinning(server=1, wrk=0),
)  # fmt: skip


def test_a_row_figure_is_the_median_of_its_rounds_and_overhead_subtracts_its_baseline() -> None:
    figures = Figures.of(ROWS, samples(PASSING_AND_FAILING))
    assert figures.cpu_us("a") == 70
    assert (figures.rows["a"].min_us, figures.rows["a"].max_us) == (69, 110)
    assert figures.overhead_us("a") == 20
    assert figures.overhead_us("b") == 30  # over bare-b, not bare-a
    assert figures.overhead_us("c") == 30  # over bare-c
    assert figures.overhead_us("known-200") is None  # compared as whole CPU only


def test_the_reference_is_the_session_re_signed_per_response() -> None:
    """DESIGN.md: "SessionMiddleware overhead (a valid session, re-signed per response)"."""
    assert REFERENCE == "session-resign"
    assert ROWS_BY_KEY[REFERENCE].expect.name == "SESSION_RESIGNED"
    assert "(reference)" in ROWS_BY_KEY[REFERENCE].label
    assert ROWS_BY_KEY[READ_ONLY].expect.name == "SESSION_READ"
    assert {goal.over for goal in GOALS[:3]} == {REFERENCE}


def test_goal_ratios_divide_the_right_overheads() -> None:
    figures = Figures.of(ROWS, samples(PASSING_AND_FAILING))
    values = {goal.row: goal.value(figures) for goal in GOALS}
    assert values == {
        "a": pytest.approx(0.5),
        "b": pytest.approx(0.75),
        "c": pytest.approx(0.75),
        "large": pytest.approx(1.1),
        "unseen-200": pytest.approx(500 / 240),
    }
    assert [goal.row for goal in missed(figures)] == ["b", "unseen-200"]
    over_reference = {
        info.row: info.value(figures) for info in INFORMATION if info.over == REFERENCE
    }
    assert over_reference == {
        "session": pytest.approx(25 / 40),
        "regimes-csp": pytest.approx(36 / 40),
    }
    read_only = {info.row: info.value(figures) for info in INFORMATION if info.over == READ_ONLY}
    assert read_only == {
        "a": pytest.approx(20 / 25),
        "b": pytest.approx(30 / 25),
        "c": pytest.approx(30 / 25),
        "large": pytest.approx(22 / 25),
        "regimes-csp": pytest.approx(36 / 25),
    }
    assert all(info.limit is None for info in INFORMATION)


def test_a_goal_over_a_cost_that_is_not_positive_is_missed() -> None:
    cpu = dict(PASSING_AND_FAILING, **{REFERENCE: PASSING_AND_FAILING["bare-a"]})  # no overhead
    figures = Figures.of(ROWS, samples(cpu))
    goal = Ratio("a", REFERENCE, "session re-signed", 0.5)
    assert goal.value(figures) is None
    assert goal.passed(figures) is False
    assert [goal.row for goal in missed(figures)] == ["a", "b", "c", "unseen-200"]


def test_the_report_shows_every_row_and_each_goal_with_its_verdict() -> None:
    figures = Figures.of(ROWS, samples(PASSING_AND_FAILING))
    text = render(figures, SETTINGS, "CPython 3.x on a test machine")
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    for row in ROWS:
        assert row.label in lines[row.key]
    verdicts = {key: lines[key].split()[-1] for key in ("a", "b", "c", "large", "unseen-200")}
    assert verdicts == {
        "a": "PASS",
        "b": "FAIL",
        "c": "PASS",
        "large": "PASS",
        "unseen-200": "FAIL",
    }
    assert text.count("PASS") == 3
    assert text.count("FAIL") == 2
    assert re.search(r"^a\s.*\s70\.0\s+69\.0-110\.0\s+20\.0\s+0\.50\s", lines["a"])
    assert re.search(r"\s40\.0\s+1\.00\s+reference$", lines["session-resign"])
    assert re.search(r"\s25\.0\s+0\.62\s+\(info, ÷ session re-signed\)$", lines["session"])
    assert "Goals: 3 of 5 met; missed: b, unseen-200" in text
    assert (
        "overhead ÷ SessionMiddleware read-only overhead (25.0 µs; no goal): "
        "a 0.80 · b 1.20 · c 1.20 · large 0.88 · regimes-csp 1.44"
    ) in text
    assert "3 rounds of 1.5 s per row (after 0.3 s of warm-up)" in text
    assert "wrk -t1 -c32, 64 visitors; servers pinned to CPU 1, wrk to CPU 0" in text
    assert "CPython 3.x on a test machine" in text
    assert "busy" not in text


def test_the_report_says_when_nothing_was_pinned() -> None:
    figures = Figures.of(ROWS, samples(PASSING_AND_FAILING))
    settings = RunSettings(1, 0.3, 0.0, 8, 1, 32, None)
    text = render(figures, settings, "env")
    assert text.endswith(
        "1 round of 0.3 s per row (after 0 s of warm-up), interleaved, medians; "
        "wrk -t1 -c32, 8 visitors; not pinned (one CPU)"
    )


def test_the_report_warns_when_requests_per_second_swung_but_keeps_the_figures() -> None:
    quiet = Figures.of(ROWS, samples(PASSING_AND_FAILING))
    swinging = Figures.of(
        ROWS, samples(PASSING_AND_FAILING, {"session": [10_000.0, 6_000.0, 9_000.0]})
    )
    text = render(swinging, SETTINGS, "env")
    warnings = [line for line in text.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "session 44%" in warnings[0]
    assert "bare-a" not in warnings[0]
    assert render(quiet, SETTINGS, "env").replace("\n" + warnings[0], "") == text.replace(
        "\n" + warnings[0], ""
    )


def test_rounds_rotate_the_order_of_the_rows() -> None:
    orders = [[row.key for row in rotated(ROWS, index)] for index in range(len(ROWS))]
    assert {order[0] for order in orders} == {row.key for row in ROWS}
    assert all(sorted(order) == sorted(orders[0]) for order in orders)


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


@pytest.fixture
def recording_server() -> Iterator[tuple[str, Recorder]]:
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


def need_wrk() -> None:
    if not Path(wrk.WRK).exists():
        message = f"the benchmark needs wrk at {wrk.WRK}; run `make bench` (apt-get install wrk)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


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
    script = tmp_path / "a.lua"
    script.write_text(lua.script("a", ROWS_BY_KEY["a"].templates(visitors(2))))
    recorder.status = 500
    with pytest.raises(wrk.WrkError, match="not 2xx or 3xx"):
        wrk.run(url, script, 0.2)
    recorder.status = 200
    script.write_text("request = function(\n")  # a Lua syntax error: wrk goes on without it
    with pytest.raises(wrk.WrkError, match="expected"):
        wrk.run(url, script, 0.2)


def a_server(url: str) -> Server:
    """The recording server as the benchmark sees a server: this process serves it."""
    return Server("test", url.rstrip("/"), os.getpid(), "http.server", "threads")


def test_wrk_is_pinned_to_its_cpu(recording_server: tuple[str, Recorder], tmp_path: Path) -> None:
    need_wrk()
    url, _ = recording_server
    script = tmp_path / "a.lua"
    script.write_text(lua.script("a", ROWS_BY_KEY["a"].templates(visitors(2))))
    cpu = max(available())
    with wrk.running(url, script, 2.0, cpu) as load:
        time.sleep(0.3)
        load.pin()
        assert len(threads(load.pid)) >= 2  # its worker thread too
        assert affinity(load.pid) == {cpu}
        assert load.stop().requests > 0


def test_the_window_is_read_after_the_warmup_while_wrk_loads_and_before_it_stops(
    recording_server: tuple[str, Recorder], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_wrk()
    url, recorder = recording_server
    script = tmp_path / "a.lua"
    script.write_text(lua.script("a", ROWS_BY_KEY["a"].templates(visitors(2))))
    readings = iter([Reading(2.0, 5), Reading(2.003, 35)])
    moments: list[tuple[float, int]] = []  # (when, pages received so far) at each reading

    def read_server(server: Server) -> Reading:
        moments.append((time.monotonic(), len(recorder.cookies)))
        return next(readings)

    monkeypatch.setattr(measure, "read_server", read_server)
    started = time.monotonic()
    sample = measure.time_row(a_server(url), script, warmup=0.3, window=0.4, wrk_cpu=None)
    ended = time.monotonic()
    assert sample.cpu_us == pytest.approx(100.0)  # 3 ms over 30 pages: the readings' figure
    assert sample.pages == 30
    assert sample.requests_per_second > 0
    (first, before), (second, during) = moments
    assert first - started >= 0.3  # after the warm-up
    assert second - first >= 0.4  # the window
    assert 0 < before < during < len(recorder.cookies)  # load before, in and after the window
    assert ended - second < 0.5  # wrk stopped at once, not at its -d


def test_a_window_on_a_page_counter_counts_only_its_own_pages(
    recording_server: tuple[str, Recorder], tmp_path: Path
) -> None:
    need_wrk()
    url, recorder = recording_server
    script = tmp_path / "a.lua"
    script.write_text(lua.script("a", ROWS_BY_KEY["a"].templates(visitors(2))))
    pinning = Pinning.choose(available())
    wrk_cpu = None if pinning is None else pinning.wrk
    sample = measure.time_row(a_server(url), script, warmup=0.3, window=0.3, wrk_cpu=wrk_cpu)
    assert 0 < sample.pages < len(recorder.cookies)  # not the warm-up's, nor the end's
    assert sample.cpu_us > 0  # this process served them: its CPU time was read


def test_a_window_with_more_pages_than_wrk_received_is_refused(
    recording_server: tuple[str, Recorder], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_wrk()
    url, _ = recording_server
    script = tmp_path / "a.lua"
    script.write_text(lua.script("a", ROWS_BY_KEY["a"].templates(visitors(2))))
    readings = iter([Reading(2.0, 0), Reading(2.1, 10**9)])
    monkeypatch.setattr(measure, "read_server", lambda server: next(readings))
    with pytest.raises(MeasureError, match="something else"):
        measure.time_row(a_server(url), script, warmup=0.1, window=0.1, wrk_cpu=None)


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


def test_a_quick_run_checks_and_times_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    """The real thing, briefly: six uvicorn servers, every output check, one short round."""
    need_wrk()
    status = main(["--quick", "--quiet", "--check"])
    out = capsys.readouterr().out
    for row in ROWS:
        # key, label, stack, then the median and the min-max of the CPU per request
        figures = rf"^{re.escape(row.key)} .* {re.escape(row.stack)} +([\d.]+) +([\d.]+)-([\d.]+) "
        match = re.search(figures, out, re.MULTILINE)
        assert match, f"no line for {row.key}:\n{out}"
        assert float(match[2]) <= float(match[1]) <= float(match[3])
        assert float(match[1]) > 0
    assert out.count("PASS") + out.count("FAIL") == len(GOALS)
    assert status == (1 if "FAIL" in out else 0)
    assert "(httptools, uvloop)" in out
    assert "1 round of 0.3 s per row (after 0.3 s of warm-up)" in out
    assert "wrk -t1 -c32" in out
    assert Pinning.describe(Pinning.choose(available())) in out
