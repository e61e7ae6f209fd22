"""Synthetic shop traffic with planted incidents, to judge anomaly detectors on labelled data.

Four series a shop's operator watches, sampled every `interval` seconds: orders per interval, the
checkout success ratio, the checkout latency p95 and payment declines per interval. Demand follows a
daily cycle (a quiet night, a lunch and an evening peak) and a weekly one (busier weekends); counts
are Poisson, the success ratio binomial on the attempts (so it is noisy at night, when few people buy),
the latency log-normal around a load-dependent level.

Planted incidents (each labelled on the series it shows in, with its window):
- checkout success drop: a payment integration fails part of the checkouts for 45 minutes;
- latency spike: p95 triples for 20 minutes;
- decline burst: a card-testing attack adds declines for 25 minutes;
- slow drift: p95 creeps up by 60 % over 8 hours (a leak), then a rollback restores it;
- a quiet night: 40 % fewer orders from midnight to 6:00 (a holiday): benign, it must not alarm.

Everything is drawn from one seeded `random.Random`, so a seed is a reproducible data set; the
incidents' days and hours move with the seed, after the first week (the static rule's training data).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from mercato.ops.memory import DAY

HOUR = 3600.0
START = 1_780_272_000.0  # 2026-06-01 00:00:00 UTC, a Monday
SERIES = ("orders", "checkout_success_ratio", "checkout_latency_p95_ms", "payment_declines")


@dataclass(frozen=True)
class Incident:
    name: str
    series: str
    start: float
    end: float
    benign: bool = False  # a planted normal event: any alert in it is a false alarm


@dataclass
class Traffic:
    interval: float
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)
    training_end: float = 0.0


def _demand(t: float) -> float:
    """Relative demand: about 0.1 at night, 1.0 at the evening peak; weekends 25 % busier."""
    hour = ((t - START) % DAY) / HOUR
    lunch = math.exp(-(((hour - 12.5) / 1.8) ** 2))
    evening = math.exp(-(((hour - 20.5) / 2.2) ** 2))
    daytime = 1.0 / (1.0 + math.exp(-(hour - 7.5) * 1.5)) * (1.0 / (1.0 + math.exp((hour - 23.5) * 1.5)))
    weekday = int(((t - START) // DAY) % 7)
    weekly = 1.25 if weekday >= 5 else 1.0
    return weekly * (0.08 + 0.35 * daytime + 0.35 * lunch + 0.55 * evening)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _binomial(rng: random.Random, n: int, p: float) -> int:
    if n > 200:
        return max(0, min(n, round(rng.gauss(n * p, math.sqrt(n * p * (1 - p))))))
    return sum(1 for _ in range(n) if rng.random() < p)


def _plan(rng: random.Random, days: int) -> list[Incident]:
    # One incident per day from day 8 on, in a shuffled order, at an hour when it would matter.
    slots = list(range(8, days - 1))
    rng.shuffle(slots)
    plan = [
        ("checkout success drop", "checkout_success_ratio", 10 + rng.random() * 9, 0.75 * HOUR, False),
        ("latency spike", "checkout_latency_p95_ms", 9 + rng.random() * 12, HOUR / 3, False),
        ("decline burst", "payment_declines", 8 + rng.random() * 14, 25 * 60.0, False),
        ("slow drift", "checkout_latency_p95_ms", 5 + rng.random() * 4, 8 * HOUR, False),
        ("quiet night", "orders", 0.0, 6 * HOUR, True),
    ]
    incidents = []
    for (name, series, hour, length, benign), day in zip(plan, slots, strict=False):
        start = START + day * DAY + round(hour * 4) / 4 * HOUR
        incidents.append(Incident(name, series, start, start + length, benign))
    return incidents


def generate(
    seed: int = 1, *, days: int = 21, interval: float = 300.0, peak_orders_per_minute: float = 12.0
) -> Traffic:
    """`days` of traffic from Monday 2026-06-01, incidents planted after the first week."""
    if days < 14:
        raise ValueError("at least 14 days: a training week, then one incident a day")
    rng = random.Random(seed)
    incidents = _plan(rng, days)
    by_name = {i.name: i for i in incidents}
    traffic = Traffic(interval=interval, incidents=incidents, training_end=START + 7 * DAY)
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in SERIES}
    per_interval = peak_orders_per_minute * interval / 60.0
    steps = int(days * DAY / interval)
    # The ratio is over the last three samples, as a recording rule over rate(...[15m]) would be:
    # per sample it is mostly noise at night, when a handful of people buy.
    window: list[tuple[int, int]] = []
    for i in range(steps):
        t = START + i * interval
        demand = _demand(t)
        if _inside(by_name["quiet night"], t):
            demand *= 0.6
        attempts = _poisson(rng, per_interval * demand)
        success_p = 0.97 - (0.17 if _inside(by_name["checkout success drop"], t) else 0.0)
        successes = _binomial(rng, attempts, success_p)
        declines = _poisson(rng, 0.04 * attempts)
        if _inside(by_name["decline burst"], t):
            declines += _poisson(rng, 30.0 * interval / 300.0)
        latency = (320.0 + 90.0 * demand) * math.exp(rng.gauss(0.0, 0.08))
        if _inside(by_name["latency spike"], t):
            latency *= 3.0
        drift = by_name["slow drift"]
        if _inside(drift, t):
            latency *= 1.0 + 0.6 * (t - drift.start) / (drift.end - drift.start)
        out["orders"].append((t, float(successes)))
        window.append((attempts, successes))
        tried, succeeded = (sum(w[0] for w in window[-3:]), sum(w[1] for w in window[-3:]))
        out["checkout_success_ratio"].append((t, succeeded / tried if tried else 1.0))
        out["checkout_latency_p95_ms"].append((t, round(latency, 1)))
        out["payment_declines"].append((t, float(declines)))
    traffic.series = out
    return traffic


def _inside(incident: Incident, t: float) -> bool:
    return incident.start <= t < incident.end
