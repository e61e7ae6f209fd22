"""What a seed's faults are made of (`FaultRates`, drawn from the seed) and what a run counts (`Stats`)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

FAULT_SECONDS = 90  # virtual seconds with faults; then calm, so every seed can settle


@dataclass(frozen=True)
class FaultRates:
    drop: float
    duplicate: float
    delay_seconds: float
    crash: float
    provider: float
    relay_again: float
    outage: tuple[float, float] | None  # virtual seconds when the provider answers nothing at all

    @classmethod
    def draw(cls, rng: random.Random) -> FaultRates:
        # Per seed, so that some seeds are calm and others stormy.
        return cls(
            drop=rng.uniform(0, 0.2),
            duplicate=rng.uniform(0, 0.2),
            delay_seconds=rng.choice((0.0, 5.0, 40.0)),
            crash=rng.uniform(0, 0.4),
            provider=rng.uniform(0, 0.3),
            relay_again=rng.uniform(0, 0.2),
            outage=_outage(rng),
        )


def _outage(rng: random.Random) -> tuple[float, float] | None:
    """One seed in four has the provider down for a while: long enough to open its circuit breaker."""
    if rng.random() >= 0.25:
        return None
    start = rng.uniform(0, FAULT_SECONDS - 40)
    return start, start + rng.uniform(10, 40)


@dataclass
class Stats:
    steps: int = 0
    deliveries: int = 0
    dropped: int = 0
    duplicated: int = 0
    crashes: Counter[str] = field(default_factory=Counter)  # by crash point
    provider_faults: int = 0
    parked: int = 0
    breaker_opened: int = 0
    orders: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
