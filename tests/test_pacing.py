"""Pacer: the request pace learned from 429 responses, on a simulated clock."""

from __future__ import annotations

import pytest

from alpharun_provider import pacing
from alpharun_provider.pacing import Pacer


class SimulatedClock:
    """A clock that only moves when the pacer sleeps or the test advances it."""

    def __init__(self) -> None:
        self.time = 100.0
        self.slept = 0.0

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.time += seconds
        self.slept += seconds


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def pacer(clock: SimulatedClock) -> Pacer:
    return Pacer(clock=clock.now, sleep=clock.sleep)


def accept(pacer: Pacer, clock: SimulatedClock, count: int, spacing: float) -> None:
    for _ in range(count):
        pacer.acquire()
        pacer.record_success()
        clock.time += spacing


def test_unpaced_before_any_429(pacer: Pacer, clock: SimulatedClock) -> None:
    accept(pacer, clock, 50, 0.0)
    assert clock.slept == 0.0
    assert pacer.rate is None


def test_first_429_stops_for_retry_after(pacer: Pacer, clock: SimulatedClock) -> None:
    accept(pacer, clock, 5, 0.0)
    pacer.record_rate_limited(2.0)
    pacer.acquire()
    assert clock.slept == pytest.approx(2.0)


def test_first_429_starts_slowly(pacer: Pacer, clock: SimulatedClock) -> None:
    accept(pacer, clock, 3, 0.0)
    pacer.record_rate_limited(1.0)
    assert pacer.rate == pytest.approx(pacing.WORKERS)


def test_slow_start_grows_pace(pacer: Pacer, clock: SimulatedClock) -> None:
    pacer.record_rate_limited(1.0)
    start_rate = pacer.rate
    accept(pacer, clock, 20, 0.0)
    assert pacer.rate is not None
    assert start_rate is not None
    assert pacer.rate > start_rate * pacing.SLOW_START_FACTOR


def test_paced_requests_are_spaced(pacer: Pacer, clock: SimulatedClock) -> None:
    pacer.record_rate_limited(1.0)
    clock.time += 2.0
    pacer.record_rate_limited(1.0)  # ends slow start
    accept(pacer, clock, 2, 0.0)
    rate = pacer.rate
    assert rate is not None
    before = clock.time
    pacer.acquire()
    assert clock.time - before == pytest.approx(1.0 / rate, abs=pacing.POLL_INTERVAL)


def test_429_in_slow_start_estimates_limit(pacer: Pacer, clock: SimulatedClock) -> None:
    accept(pacer, clock, 5, 0.0)
    pacer.record_rate_limited(1.0)
    clock.time += 1.01
    # A server that accepts 20 requests a second: 10 in the half second
    # before the 429, plus the 5 it saved during the stop.
    for _ in range(15):
        pacer.record_success()
        clock.time += 0.033
    pacer.record_rate_limited(1.0)
    assert pacer.rate == pytest.approx(pacing.ESTIMATE_SHARE * 20, rel=0.1)


def test_later_429s_back_off_once_a_second(pacer: Pacer, clock: SimulatedClock) -> None:
    pacer.record_rate_limited(1.0)
    clock.time += 2.0
    pacer.record_rate_limited(1.0)  # ends slow start
    clock.time += 2.0
    paced = pacer.rate
    assert paced is not None
    pacer.record_rate_limited(1.0)
    pacer.record_rate_limited(1.0)
    assert pacer.rate == pytest.approx(paced * pacing.BACKOFF_FACTOR)


def test_pace_grows_between_429s(pacer: Pacer, clock: SimulatedClock) -> None:
    pacer.record_rate_limited(1.0)
    clock.time += 2.0
    pacer.record_rate_limited(1.0)
    paced = pacer.rate
    assert paced is not None
    clock.time += 10.0
    pacer.acquire()
    assert pacer.rate == pytest.approx(paced * (1 + 10 * pacing.STEADY_GROWTH))


def test_429_during_stop_changes_nothing(pacer: Pacer, clock: SimulatedClock) -> None:
    pacer.record_rate_limited(1.0)
    rate = pacer.rate
    pacer.record_rate_limited(1.0)
    assert pacer.rate == rate
