"""`mercato ops forecast`: the request and checkout rates forecast ahead, published for the autoscaler.

Every `step` seconds it reads the shop's rates — the total over every gateway replica, from Prometheus
(`--prometheus URL`, one instant query per series), or by scraping processes' /metrics itself (URLs,
for a single machine) — feeds one Holt-Winters forecaster per series (`ops.forecast`, a daily season
of `86400 / step` steps) and sets, on its own /metrics:

    mercato_forecast_requests_per_second{horizon="10m"}   the highest forecast over the next 10 min
    mercato_forecast_checkouts_per_second{horizon="10m"}
    mercato_forecast_seasonal{series}                     1 once a day of history is in

Prometheus scrapes it; prometheus-adapter (or KEDA) serves the requests series as an external metric
and the gateway's HPA scales on it beside CPU (chart value `gateway.autoscaling.forecast`). A restarted
forecaster would need a day to learn the season again: with `--prometheus` it warms up from the last
`--history-days` of the same series first (one range query per series).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

import httpx
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.parser import text_string_to_metric_families

from mercato.ops.forecast import HoltWinters, HoltWintersConfig

DAY = 86_400
# series -> (the counter of the gateway's /metrics, the labels it must carry, PromQL of its rate)
SERIES: dict[str, tuple[str, dict[str, str], str]] = {
    "requests": (
        "mercato_http_requests",
        {"path": "/graphql"},
        'sum(rate(mercato_http_requests_total{{path="/graphql"}}[{window}]))',
    ),
    "checkouts": (
        "mercato_checkout_duration_seconds_count",
        {},
        "sum(rate(mercato_checkout_duration_seconds_count[{window}]))",
    ),
}


def horizon_label(seconds: float) -> str:
    return f"{int(seconds // 60)}m" if seconds % 60 == 0 else f"{int(seconds)}s"


class Forecaster:
    """One forecaster per series, its gauges in `registry`."""

    def __init__(self, step: float, horizon: float, registry: CollectorRegistry | None = None) -> None:
        if step <= 0 or horizon <= 0:
            raise ValueError("step and horizon must be positive")
        self.step = step
        self.steps_ahead = max(1, math.ceil(horizon / step))
        self.horizon = horizon_label(horizon)
        self.registry = registry or CollectorRegistry()
        period = max(2, round(DAY / step))
        self.models = {name: HoltWinters(HoltWintersConfig(period=period)) for name in SERIES}
        self.gauges = {
            name: Gauge(
                f"mercato_forecast_{name}_per_second",
                f"The highest {name} rate per second forecast over the horizon (Holt-Winters, daily season).",
                ["horizon"],
                registry=self.registry,
            )
            for name in SERIES
        }
        self.seasonal = Gauge(
            "mercato_forecast_seasonal",
            "1 once the series' forecaster has a whole day of history (before that it follows the level).",
            ["series"],
            registry=self.registry,
        )

    def feed(self, rates: Mapping[str, float]) -> dict[str, float]:
        """One step's rates; returns the forecasts now published."""
        published = {}
        for name, rate in rates.items():
            model = self.models.get(name)
            if model is None or not math.isfinite(rate):
                continue
            model.update(max(0.0, rate))
            published[name] = model.peak(self.steps_ahead)
            self.gauges[name].labels(self.horizon).set(published[name])
            self.seasonal.labels(name).set(1.0 if model.seasonal else 0.0)
        return published

    def warm_up(self, history: Mapping[str, Sequence[float]]) -> None:
        """Feed past rates, one per step, oldest first (no gauge is set until the next `feed`)."""
        for name, values in history.items():
            model = self.models.get(name)
            for value in values if model is not None else ():
                if math.isfinite(value):
                    model.update(max(0.0, value))  # type: ignore[union-attr]


class RateSource(Protocol):
    def read(self) -> dict[str, float]: ...


class PrometheusSource:
    """The rates summed over every replica, from Prometheus' HTTP API."""

    def __init__(self, http: httpx.Client, url: str, step: float) -> None:
        self.http = http
        self.url = url.rstrip("/")
        self.window = f"{max(60, int(step))}s"
        self.step = step

    def _query(self, name: str) -> str:
        return SERIES[name][2].format(window=self.window)

    def read(self) -> dict[str, float]:
        rates = {}
        for name in SERIES:
            answer = self.http.get(f"{self.url}/api/v1/query", params={"query": self._query(name)})
            answer.raise_for_status()
            result = answer.json()["data"]["result"]
            rates[name] = float(result[0]["value"][1]) if result else 0.0
        return rates

    def history(self, days: float, now: float) -> dict[str, list[float]]:
        past: dict[str, list[float]] = {}
        for name in SERIES:
            params: dict[str, str | float] = {
                "query": self._query(name),
                "start": now - days * DAY,
                "end": now,
                "step": self.step,
            }
            answer = self.http.get(f"{self.url}/api/v1/query_range", params=params)
            answer.raise_for_status()
            result = answer.json()["data"]["result"]
            past[name] = [float(v) for _, v in result[0]["values"]] if result else []
        return past


class ScrapeSource:
    """The rates from the processes' own /metrics: counters summed over `urls`, per second since the
    previous read (the first read gives nothing)."""

    def __init__(self, http: httpx.Client, urls: Sequence[str]) -> None:
        self.http = http
        self.urls = list(urls)
        self._previous: tuple[float, dict[str, float]] | None = None

    def totals(self) -> dict[str, float]:
        sums = dict.fromkeys(SERIES, 0.0)
        for url in self.urls:
            answer = self.http.get(url)
            answer.raise_for_status()
            sums = {k: sums[k] + v for k, v in counter_totals(answer.text).items()}
        return sums

    def read(self) -> dict[str, float]:
        now, totals = time.monotonic(), self.totals()
        previous, self._previous = self._previous, (now, totals)
        if previous is None or now <= previous[0]:
            return {}
        elapsed = now - previous[0]
        # A counter that went down was reset (a restarted process): count from zero.
        return {k: (v - previous[1][k] if v >= previous[1][k] else v) / elapsed for k, v in totals.items()}


def counter_totals(exposition: str) -> dict[str, float]:
    """Each series' counter in one exposition, summed over the samples whose labels match."""
    sums = dict.fromkeys(SERIES, 0.0)
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            for name, (metric, labels, _) in SERIES.items():
                wanted = sample.name in (metric, f"{metric}_total")
                if wanted and all(sample.labels.get(k) == v for k, v in labels.items()):
                    sums[name] += sample.value
    return sums
