"""Watching live processes: their `/metrics` scraped at an interval, a detector per series.

`Watch.feed(t, exposition)` turns one scrape of a process into series values — counters become rates
per second since the previous scrape, gauges are taken as they are, each summed over its labels
except the few that name what the operator cares about (an order's lifecycle step, a rejection's
reason) — and runs one streaming `Detector` per series. `mercato ops anomalies` drives it over HTTP
and reports alerts, on the terminal and optionally to a webhook, as a sentence: what, since when, how
far from normal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from mercato.ops.anomaly import Detector, DetectorConfig, Reading
from mercato.ops.series import format_time

# metric name -> the label that splits it into series ("" : one series, summed over its labels).
WATCHED: dict[str, str] = {
    "mercato_orders_total": "event",
    "mercato_orders_rejected_total": "",
    "mercato_payment_declines_total": "",
    "mercato_payment_errors_total": "",
    "mercato_stock_outs_total": "",
    "mercato_http_requests_total": "",
    "mercato_grpc_requests_total": "",
    "mercato_consumer_dead_letters_total": "",
    "mercato_consumer_pending_messages": "",
    "mercato_outbox_pending_events": "",
    "mercato_http_requests_in_flight": "",
}
MAX_SERIES = 64


@dataclass(frozen=True)
class Anomaly:
    series: str
    at: float
    value: float
    reading: Reading

    def message(self) -> str:
        direction = {"spike": "above", "rise": "drifting above", "dip": "below", "fall": "drifting below"}
        where = direction.get(self.reading.kind, "away from")
        return (
            f"{self.series} is {self.value:.4g}, {where} its normal {self.reading.expected:.4g} "
            f"(score {self.reading.score:.2f}) since {format_time(self.at)} UTC"
        )


class Watch:
    def __init__(self, config: DetectorConfig | None = None) -> None:
        self._config = config
        self._detectors: dict[str, Detector] = {}
        self._previous: dict[str, tuple[float, float]] = {}  # counter series -> (t, total)
        self.last: dict[str, tuple[float, Reading]] = {}

    def feed(self, t: float, exposition: str) -> list[Anomaly]:
        """One scrape at time t (seconds); returns the series that raised an alert with it."""
        alerts = []
        for series, value in self._values(t, exposition):
            detector = self._detectors.get(series)
            if detector is None:
                if len(self._detectors) >= MAX_SERIES:
                    continue
                detector = self._detectors[series] = Detector(self._config)
            reading = detector.update(t, value)
            self.last[series] = (value, reading)
            if reading.alert:
                alerts.append(Anomaly(series, t, value, reading))
        return alerts

    def _values(self, t: float, exposition: str) -> Iterable[tuple[str, float]]:
        totals: dict[tuple[str, bool], float] = {}
        for family in text_string_to_metric_families(exposition):
            # The parser names a counter's family without its `_total`.
            is_counter = family.type == "counter"
            split = WATCHED.get(family.name + "_total" if is_counter else family.name)
            if split is None:
                continue
            for sample in family.samples:
                if is_counter and not sample.name.endswith("_total"):
                    continue  # the _created sample
                label = sample.labels.get(split, "") if split else ""
                name = sample.name + (f"{{{split}={label}}}" if split else "")
                key = (name, is_counter)
                totals[key] = totals.get(key, 0.0) + float(sample.value)
        for (name, is_counter), value in sorted(totals.items()):
            if not is_counter:
                yield name, value
                continue
            before = self._previous.get(name)
            self._previous[name] = (t, value)
            if before is not None and t > before[0] and value >= before[1]:
                yield name.replace("_total", "_per_second", 1), (value - before[1]) / (t - before[0])
