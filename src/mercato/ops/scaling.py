"""Replaying a synthetic fortnight through two autoscalers: the reactive HPA, and the same HPA with the
forecast as a second metric (`mercato ops replay-scaling`, docs/observability.md).

Traffic, one value a minute (requests per second): a daily cycle with a quiet night, a newsletter that
goes out at 12:00 every day (the rate climbs to its lunch peak within ten minutes) and an evening peak
that builds over half an hour; weekends 25 % busier; multiplicative noise. The first week is history
(the forecaster learns its season; nothing is scored); the second is scored, and has an unannounced
flash sale: three times the traffic for 90 minutes from 15:00 on its Thursday.

Replica model: a replica serves `capacity` requests per second; the HPA syncs every minute and sees
the rate averaged over the last `metric_lag` minutes (scrape interval plus rate window); a replica
it adds serves after `startup` minutes; scaling down follows the highest recommendation of the last
`stabilization` minutes (the chart's 300 s window); between `min_replicas` and `max_replicas`.

- reactive: desired = ceil(observed / (capacity x target));
- forecast: the larger of that and ceil(forecast peak over the next `horizon` / (capacity x
  target)): an HPA with two metrics takes the larger recommendation, so the forecast only ever
  adds replicas ahead of time, and a surprise (the flash sale) is met as reactively as before.

A minute is under-provisioned when the traffic exceeds what the ready replicas serve (at 100 %).
Deterministic for a seed: `random.Random(seed)`, no clock.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, replace

from mercato.ops.forecast import HoltWinters, HoltWintersConfig

MINUTES_PER_DAY = 1_440


@dataclass(frozen=True)
class ReplicaModel:
    capacity: float = 50.0  # requests per second one replica serves at 100 %
    target: float = 0.7  # the HPA's target utilisation
    startup: int = 3  # minutes from the decision to a ready replica
    metric_lag: int = 2  # minutes of rate the HPA averages
    stabilization: int = 5  # minutes of scale-down stabilisation
    min_replicas: int = 2
    max_replicas: int = 40
    step: int = 5  # minutes per forecast step (the forecaster's sampling)
    horizon: int = 10  # minutes ahead the forecast looks (covers the startup and a sync)


@dataclass(frozen=True)
class Outcome:
    name: str
    under_minutes: int
    replica_hours: float
    dropped_share: float  # requests above the capacity, as a share of all requests
    flash_sale_under_minutes: int


def _daily(minute_of_day: int) -> float:
    """Requests per second at that minute of a weekday, before noise."""
    h = minute_of_day / 60
    night = 15.0
    day = 60.0 * max(0.0, math.sin(math.pi * (h - 6.5) / 16)) if 6.5 < h < 22.5 else 0.0
    lunch = 180.0 * min(1.0, (h - 12) * 6) * math.exp(-(h - 12) / 1.2) if h >= 12 else 0.0
    evening = 220.0 * math.exp(-(((h - 20.5) / 1.1) ** 2))
    return night + day + lunch + evening


def synthetic_traffic(seed: int = 1, days: int = 14, flash_sale_day: int = 10) -> tuple[list[float], range]:
    """Requests per second, one value a minute, and the minutes of the flash sale."""
    rng = random.Random(seed)
    sale_start = flash_sale_day * MINUTES_PER_DAY + 15 * 60
    sale = range(sale_start, sale_start + 90)
    values = []
    for minute in range(days * MINUTES_PER_DAY):
        day, of_day = divmod(minute, MINUTES_PER_DAY)
        weekend = 1.25 if day % 7 in (5, 6) else 1.0
        rate = _daily(of_day) * weekend * rng.lognormvariate(0.0, 0.06)
        if minute in sale:
            rate *= 1.0 + 2.0 * min(1.0, (minute - sale_start + 1) / 5)
        values.append(rate)
    return values, sale


def replay(
    traffic: list[float],
    model: ReplicaModel,
    *,
    use_forecast: bool,
    score_from: int,
    flash_sale: range = range(0),
) -> Outcome:
    forecaster = HoltWinters(HoltWintersConfig(period=MINUTES_PER_DAY // model.step))
    ready = model.min_replicas
    starting: deque[tuple[int, int]] = deque()  # (minute it is ready, replicas)
    recommendations: deque[int] = deque(maxlen=model.stabilization)
    bucket: list[float] = []
    under = flash_under = 0
    replica_minutes = 0
    dropped = served_total = 0.0
    for minute, load in enumerate(traffic):
        while starting and starting[0][0] <= minute:
            ready += starting.popleft()[1]
        if minute >= score_from:
            capacity = ready * model.capacity
            if load > capacity:
                under += 1
                flash_under += minute in flash_sale
                dropped += load - capacity
            served_total += load
            replica_minutes += ready
        bucket.append(load)
        if len(bucket) == model.step:
            forecaster.update(sum(bucket) / len(bucket))
            bucket = []
        # The HPA's sync at the end of the minute.
        window = traffic[max(0, minute - model.metric_lag + 1) : minute + 1]
        per_replica = model.capacity * model.target
        desired = math.ceil(sum(window) / len(window) / per_replica)
        if use_forecast and forecaster.seasonal:
            steps = math.ceil(model.horizon / model.step)
            desired = max(desired, math.ceil(forecaster.peak(steps) / per_replica))
        desired = min(model.max_replicas, max(model.min_replicas, desired))
        recommendations.append(desired)
        target = max(recommendations)  # scale down only to the highest recent recommendation
        pending = sum(n for _, n in starting)
        if target > ready + pending:
            starting.append((minute + model.startup, target - ready - pending))
        elif target < ready:
            ready = target  # removing pods is immediate (after the stabilisation window)
    scored = max(1, len(traffic) - score_from)
    return Outcome(
        name="forecast + reactive" if use_forecast else "reactive",
        under_minutes=under,
        replica_hours=replica_minutes / 60,
        dropped_share=dropped / served_total if served_total else 0.0,
        flash_sale_under_minutes=flash_under if scored else 0,
    )


def compare(seed: int = 1, model: ReplicaModel | None = None) -> list[Outcome]:
    """The reactive HPA at its target and at a lower one (more headroom, always on), and the
    forecast-driven one, over the scored second week of `synthetic_traffic(seed)`."""
    model = model or ReplicaModel()
    traffic, sale = synthetic_traffic(seed)
    week = 7 * MINUTES_PER_DAY
    roomy = replace(model, target=0.5)
    roomy_outcome = replay(traffic, roomy, use_forecast=False, score_from=week, flash_sale=sale)
    return [
        replay(traffic, model, use_forecast=False, score_from=week, flash_sale=sale),
        replace(roomy_outcome, name="reactive, 50 %"),
        replay(traffic, model, use_forecast=True, score_from=week, flash_sale=sale),
    ]
