"""The benchmark runs end to end and reports numbers (its speed is not tested here)."""

from __future__ import annotations

import math

import pytest

from bench import goals, instructions, measure, render
from bench.__main__ import main
from bench.asgi import Recorder, call
from bench.policies import example_policy
from bench.scenario import (
    RESPONSE_KEY,
    app,
    consent_credential,
    make_visitors,
    requests,
)


def test_benchmark_measures_every_stack_and_all_three_goals() -> None:
    result = measure(visitors=8, large_size=60, min_rounds=2, max_rounds=2, window=2)
    assert result.rounds == 2
    for variant in result.variants:
        assert result.per_request_us(variant.key) > 0
        assert math.isfinite(result.median_us(variant.key))
    assert [math.isfinite(goal.value) for goal in goals(result)] == [True, True, True]
    table = render(result)
    assert "SessionMiddleware (Starlette)" in table
    assert "60 declared cookies" in table


def test_benchmark_command_prints_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--visitors", "4", "--large-size", "30", "--min-rounds", "1", "--max-rounds", "1"]
    assert main([*argv, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "ConsentMiddleware overhead / SessionMiddleware overhead" in out
    assert out.count("PASS") + out.count("FAIL") == 3
    assert "regimes + CSP / SessionMiddleware overhead" in out


def test_a_busy_machine_is_named_in_the_report() -> None:
    result = measure(visitors=4, large_size=30, min_rounds=3, max_rounds=3, window=3)
    session = result.samples["session"]
    session[1:] = [list(session[0]), list(session[0])]  # every batch alike: quiet
    assert "The machine was busy" not in render(result)
    session[1:] = [[time * 2 for time in session[0]]] * 2  # the median batch twice as slow
    assert "The machine was busy: a median batch took 100% longer" in render(result)


@pytest.mark.parametrize("stack", ["consent", "regimes-csp", "session", "pass"])
def test_instruction_counting_runs_each_stack(stack: str) -> None:
    instructions.main(["--stack", stack, "--visitors", "4", "--rounds", "1", "--no-cookies"])


def test_the_pass_through_floor_sends_the_response_as_it_is() -> None:
    scope = requests(make_visitors(1, example_policy()), 0, consent_credential)[0]
    recorder = Recorder()
    call(instructions.PassThrough(app), scope, recorder)
    assert recorder.headers() == scope[RESPONSE_KEY]
    assert [message["type"] for message in recorder.messages] == [
        "http.response.start",
        "http.response.body",
    ]


def test_requests_without_cookies_carry_only_the_credential() -> None:
    visitors = make_visitors(4, example_policy())
    for cookies in (True, False):
        for visitor, scope in zip(
            visitors, requests(visitors, 0, consent_credential, cookies=cookies), strict=True
        ):
            cookie = dict(scope["headers"])[b"cookie"]
            set_cookies = [key for key, _ in scope[RESPONSE_KEY] if key == b"set-cookie"]
            if cookies:
                assert len(cookie.split(b"; ")) == len(visitor.jar) + 1
                assert len(set_cookies) == 10
            else:
                assert cookie == visitor.consent
                assert set_cookies == []
