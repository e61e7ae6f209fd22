"""A circuit breaker in front of the payment provider.

A provider that stops answering (an outage, a network cut) costs every payment operation its full
timeout: the payments consumer, which works through its messages one batch at a time, then spends
10 s per message learning the same thing again, and checkouts pile up behind it. After
`failures_to_open` calls in a row end without an answer (timeouts, errors, unavailability — a
decline *is* an answer), the breaker opens: calls are refused at once, without reaching the
provider, for `open_seconds`. Then one call is let through as a probe (half-open): an answer closes
the breaker, another failure opens it again for twice as long (up to `max_open_seconds`).

A refused call leaves its operation PENDING like any unanswered call: the same command redelivered,
or the pending-payments sweeper, drives it once the provider answers again. Nothing is charged
twice; orders wait (their saga deadline bounds how long) instead of piling up provider timeouts.

Per process, in memory: each payments process learns about the provider from its own calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerSettings:
    failures_to_open: int = 5
    open_seconds: float = 5.0
    max_open_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.failures_to_open < 1 or not 0 < self.open_seconds <= self.max_open_seconds:
            raise ValueError("the breaker needs ≥ 1 failure to open and 0 < open_seconds ≤ max_open_seconds")


# Called on every change of state: (new state, consecutive failures, seconds it stays open).
OnChange = Callable[[BreakerState, int, float], None]


class CircuitBreaker:
    def __init__(
        self,
        settings: BreakerSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: OnChange | None = None,
    ) -> None:
        self.settings = settings or BreakerSettings()
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._open_for = self.settings.open_seconds
        self._open_until = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() >= self._open_until:
            return BreakerState.HALF_OPEN
        return self._state

    def seconds_until_probe(self) -> float:
        """How long until a call may go through again (0 when one may now)."""
        return max(0.0, self._open_until - self._clock()) if self._state is BreakerState.OPEN else 0.0

    def allow(self) -> bool:
        """Whether a call may go to the provider now. In half-open, one call at a time (the probe):
        whoever is allowed must report `succeeded()`, `failed()` or `abandoned()`."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN or self._probing:
            return False
        self._probing = True
        if self._state is not BreakerState.HALF_OPEN:
            self._move(BreakerState.HALF_OPEN)
        return True

    def succeeded(self) -> None:
        """The provider answered (approved or declined)."""
        self._probing = False
        self._failures = 0
        self._open_for = self.settings.open_seconds
        if self._state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED)

    def failed(self) -> None:
        """The call ended without an answer."""
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN:  # the probe failed
            self._probing = False
            self._open_for = min(2 * self._open_for, self.settings.max_open_seconds)
            self._open()
        elif self._state is BreakerState.CLOSED and self._failures >= self.settings.failures_to_open:
            self._open()

    def abandoned(self) -> None:
        """The call was cancelled before any outcome (the caller went away): a probe slot is freed,
        nothing is learnt about the provider."""
        self._probing = False

    def _open(self) -> None:
        self._open_until = self._clock() + self._open_for
        self._move(BreakerState.OPEN)

    def _move(self, state: BreakerState) -> None:
        self._state = state
        if self._on_change is not None:
            self._on_change(state, self._failures, self._open_for if state is BreakerState.OPEN else 0.0)
