"""Timing: interleaved batches, minimums, and rounds until the ratios stop moving.

The machine is shared, so single timings are noisy. Each round times one batch of
every stack (1,000 requests, one per visitor) in a rotating order, with the garbage
collector paused as ``timeit`` does (it runs between rounds instead). A batch is
timed in chunks of ``CHUNK`` requests, and a stack's cost is the sum over chunks of
each chunk's fastest time: the least disturbed run of the same visitors. Another
process taking the CPU then spoils one chunk rather than a whole batch. Rounds
continue until the three goal ratios have stayed within a tolerance for several
rounds, or a time limit is reached.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import median

from starlette.types import ASGIApp, Scope

from .asgi import Suspended, discard, receive
from .policies import (
    LARGE_SIZE,
    check_same_decisions,
    example_policy,
    large_policy,
    regional_policy,
)
from .scenario import ALL_NAMES, Variant, check, make_visitors, requests, variants


@dataclass
class Measurement:
    """Chunk timings (ns per chunk, one list per round) for every variant."""

    visitors: int
    large_size: int
    variants: list[Variant]
    samples: dict[str, list[list[int]]] = field(default_factory=dict)
    rounds: int = 0
    stable: bool = False
    seconds: float = 0.0

    def per_request_us(self, key: str) -> float:
        """Best estimate of the undisturbed cost: every chunk at its fastest."""
        best: list[int] = [min(chunk) for chunk in zip(*self.samples[key], strict=True)]
        return sum(best) / self.visitors / 1000

    def median_us(self, key: str) -> float:
        """The typical cost of a whole batch on this machine at this moment."""
        totals = [sum(batch) for batch in self.samples[key]]
        return float(median(totals)) / self.visitors / 1000

    def overhead_us(self, key: str) -> float:
        return self.per_request_us(key) - self.per_request_us("bare")

    def ratio(self, key: str, base: str) -> float:
        below = self.overhead_us(base)
        return self.overhead_us(key) / below if below > 0 else float("inf")

    def goal_ratios(self) -> tuple[float, float, float]:
        """Enforcement / SessionMiddleware, 5,000 cookies / the example, and the first
        with regimes and the CSP on (issue 5)."""
        return (
            self.ratio("consent", "session"),
            self.ratio("large", "consent"),
            self.ratio("regimes-csp", "session"),
        )


CHUNK = 50


def time_batch(stack: ASGIApp, scopes: Sequence[Scope], chunk: int = CHUNK) -> list[int]:
    """Nanoseconds to run each run of ``chunk`` requests of ``scopes`` through ``stack``."""
    clock = time.perf_counter_ns
    times: list[int] = []
    gc.disable()
    try:
        for first in range(0, len(scopes), chunk):
            start = clock()
            for scope in scopes[first : first + chunk]:
                steps = stack(scope, receive, discard).__await__()
                try:
                    steps.send(None)
                except StopIteration:
                    continue
                raise Suspended("the app suspended; the benchmark drives only apps that never wait")
            times.append(clock() - start)
    finally:
        gc.enable()
    return times


def _spread(values: Sequence[float]) -> float:
    last = values[-1]
    return (max(values) - min(values)) / abs(last) if last else float("inf")


def measure(
    *,
    visitors: int = 1000,
    large_size: int = LARGE_SIZE,
    min_rounds: int = 30,
    max_rounds: int = 200,
    max_seconds: float = 120.0,
    window: int = 10,
    tolerance: float = 0.02,
    progress: Callable[[str], None] | None = None,
) -> Measurement:
    say = progress or (lambda _: None)
    say("loading policies")
    example, large = example_policy(), large_policy(large_size)
    check_same_decisions(example, large, ALL_NAMES)
    say(f"signing in {visitors} visitors")
    people = make_visitors(visitors, example, large)
    stacks = variants(example, large, regional_policy())
    for variant in stacks:
        check(variant, people, example)
    built = {variant.key: variant.build() for variant in stacks}
    result = Measurement(visitors, large_size, stacks, {v.key: [] for v in stacks})
    for variant in stacks:  # warm-up: caches filled, code paths run once
        time_batch(built[variant.key], requests(people, -2, variant.credential))

    history: list[tuple[float, float, float]] = []
    started = time.monotonic()
    counter = 0
    while result.rounds < max_rounds:
        turn = result.rounds % len(stacks)
        gc.collect()  # once per round: batches then run with the collector paused
        for variant in stacks[turn:] + stacks[:turn]:
            counter += 1  # every request of every batch has fresh cookie values
            scopes = requests(people, counter, variant.credential)
            if variant.fresh:
                built[variant.key] = variant.build()
            result.samples[variant.key].append(time_batch(built[variant.key], scopes))
        result.rounds += 1
        history.append(result.goal_ratios())
        result.seconds = time.monotonic() - started
        if result.rounds >= min_rounds and len(history) >= window:
            recent = history[-window:]
            if all(_spread([r[i] for r in recent]) <= tolerance for i in range(3)):
                result.stable = True
                break
        if result.seconds > max_seconds:
            break
        if result.rounds % 5 == 0:
            ratios = ", ".join(f"{ratio:.3f}" for ratio in history[-1])
            say(f"round {result.rounds}: ratios {ratios}")
    return result
