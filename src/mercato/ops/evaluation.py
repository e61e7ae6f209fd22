"""Judging alerting rules on labelled series: precision, recall, detection delay, false alarms.

An incident counts as caught when an alert falls in [start, end + grace); its delay is the first such
alert minus its start. Every other alert after the training period is a false alarm, including those
inside a benign planted event (the quiet night). Precision is true alerts over all alerts, recall is
incidents caught over incidents. Alerts are edge-triggered in both rules (one per episode), so a long
excursion is one alert, not one per sample.

The static rule is what a team writes first: alert when a value leaves the range seen in a training
week (its 0.1 % and 99.9 % quantiles), re-armed once the value is back inside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mercato.ops.anomaly import DetectorConfig, detect
from mercato.ops.traffic import Incident, Traffic

GRACE = 1800.0
Rule = Callable[[Sequence[tuple[float, float]], float], list[bool]]


def detector_rule(config: DetectorConfig | None = None) -> Rule:
    def rule(samples: Sequence[tuple[float, float]], training_end: float) -> list[bool]:
        return [r.alert for r in detect(list(samples), config)]

    return rule


def static_rule(low_q: float = 0.001, high_q: float = 0.999) -> Rule:
    def rule(samples: Sequence[tuple[float, float]], training_end: float) -> list[bool]:
        training = sorted(x for t, x in samples if t < training_end)
        low = training[int(low_q * (len(training) - 1))]
        high = training[int(high_q * (len(training) - 1))]
        alerts, armed = [], True
        for _t, x in samples:
            outside = x < low or x > high
            alerts.append(armed and outside)
            armed = not outside
        return alerts

    return rule


@dataclass
class Score:
    incidents: int = 0
    caught: int = 0
    true_alerts: int = 0
    false_alarms: int = 0
    benign_alarms: int = 0  # false alarms inside a benign planted event
    delays: list[float] | None = None
    days: float = 0.0

    @property
    def precision(self) -> float:
        total = self.true_alerts + self.false_alarms
        return self.true_alerts / total if total else 1.0

    @property
    def recall(self) -> float:
        return self.caught / self.incidents if self.incidents else 1.0

    @property
    def false_alarms_per_day(self) -> float:
        return self.false_alarms / self.days if self.days else 0.0

    def add(self, other: Score) -> None:
        self.incidents += other.incidents
        self.caught += other.caught
        self.true_alerts += other.true_alerts
        self.false_alarms += other.false_alarms
        self.benign_alarms += other.benign_alarms
        self.delays = (self.delays or []) + (other.delays or [])
        self.days += other.days


def score_series(
    samples: Sequence[tuple[float, float]],
    alerts: Sequence[bool],
    incidents: Sequence[Incident],
    training_end: float,
) -> tuple[Score, dict[str, float | None]]:
    """Scores one series' alerts against the incidents planted on it; also each incident's delay."""
    harmful = [i for i in incidents if not i.benign]
    benign = [i for i in incidents if i.benign]
    first: dict[str, float | None] = {i.name: None for i in harmful}
    score = Score(incidents=len(harmful), delays=[])
    evaluated = [t for t, _ in samples if t >= training_end]
    score.days = (evaluated[-1] - evaluated[0]) / 86400.0 if len(evaluated) > 1 else 0.0
    for (t, _x), alert in zip(samples, alerts, strict=True):
        if not alert or t < training_end:
            continue
        hit = next((i for i in harmful if i.start <= t < i.end + GRACE), None)
        if hit is None:
            score.false_alarms += 1
            if any(i.start <= t < i.end for i in benign):
                score.benign_alarms += 1
            continue
        score.true_alerts += 1
        if first[hit.name] is None:
            first[hit.name] = t - hit.start
    delays = [d for d in first.values() if d is not None]
    score.caught = len(delays)
    score.delays = delays
    return score, first


def evaluate(traffic: Traffic, rule: Rule) -> tuple[Score, dict[str, float | None]]:
    """Runs a rule over every series of the traffic; returns the total and each incident's delay."""
    total = Score(delays=[])
    delays: dict[str, float | None] = {}
    for name, samples in traffic.series.items():
        alerts = rule(samples, traffic.training_end)
        planted = [i for i in traffic.incidents if i.series == name]
        score, first = score_series(samples, alerts, planted, traffic.training_end)
        total.add(score)
        delays.update(first)
    # Days are counted once for the whole shop, not once per series.
    total.days /= max(1, len(traffic.series))
    return total, delays
