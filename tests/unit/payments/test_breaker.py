"""The provider's circuit breaker as a state machine, on a clock the test moves."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mercato.payments.domain.breaker import BreakerSettings, BreakerState, CircuitBreaker


@dataclass
class Clock:
    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def changes() -> list[tuple[BreakerState, int, float]]:
    return []


@pytest.fixture
def breaker(clock: Clock, changes: list[tuple[BreakerState, int, float]]) -> CircuitBreaker:
    settings = BreakerSettings(failures_to_open=3, open_seconds=5.0, max_open_seconds=12.0)
    return CircuitBreaker(settings, clock=clock, on_change=lambda *change: changes.append(change))


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert breaker.allow()
        breaker.failed()


def test_it_opens_after_failures_in_a_row_only(
    breaker: CircuitBreaker, changes: list[tuple[BreakerState, int, float]]
) -> None:
    fail(breaker, 2)
    assert breaker.allow()
    breaker.succeeded()  # an answer (a decline too) resets the count
    fail(breaker, 2)
    assert (breaker.state, changes) == (BreakerState.CLOSED, [])
    fail(breaker, 1)
    assert breaker.state is BreakerState.OPEN
    assert changes == [(BreakerState.OPEN, 3, 5.0)]
    assert not breaker.allow()
    assert breaker.seconds_until_probe() == 5.0


def test_after_the_open_period_one_probe_goes_and_an_answer_closes_it(
    breaker: CircuitBreaker, clock: Clock, changes: list[tuple[BreakerState, int, float]]
) -> None:
    fail(breaker, 3)
    clock.now += 5.0
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # one at a time
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    assert [state for state, _, _ in changes] == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]


def test_a_failed_probe_opens_it_for_twice_as_long_up_to_the_maximum(
    breaker: CircuitBreaker, clock: Clock, changes: list[tuple[BreakerState, int, float]]
) -> None:
    fail(breaker, 3)
    for expected in (10.0, 12.0, 12.0):
        clock.now += 60.0
        assert breaker.allow()
        breaker.failed()
        assert (breaker.state, breaker.seconds_until_probe()) == (BreakerState.OPEN, expected)
    clock.now += 12.0
    assert breaker.allow()
    breaker.succeeded()
    fail(breaker, 3)  # closed again: the open period starts over from the setting
    assert breaker.seconds_until_probe() == 5.0


def test_an_abandoned_probe_frees_the_slot_and_teaches_nothing(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 3)
    clock.now += 5.0
    assert breaker.allow()
    breaker.abandoned()
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()


def test_failures_of_calls_that_started_before_it_opened_change_nothing(
    breaker: CircuitBreaker, changes: list[tuple[BreakerState, int, float]]
) -> None:
    assert breaker.allow() and breaker.allow()  # two calls in flight
    fail(breaker, 3)
    breaker.failed()  # one of the two, ending late
    assert (breaker.state, breaker.seconds_until_probe(), len(changes)) == (BreakerState.OPEN, 5.0, 1)


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        BreakerSettings(failures_to_open=0)
    with pytest.raises(ValueError):
        BreakerSettings(open_seconds=30.0, max_open_seconds=10.0)
