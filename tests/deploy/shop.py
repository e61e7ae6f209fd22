"""A synthetic shop's series, scraped every 30 s into a `promql.Store`, for rule unit tests.

A scenario is a function of time returning, per series, a rate per second (counters, integrated
here into cumulative totals, as a process's counters are) or a value (gauges). `run` scrapes it and
evaluates the rules every minute, returning when each alert fired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.utils import floatToGoString

from mercato.platform import business_metrics as bm
from tests.deploy.promql import Labels, Rules, Store, labels

SCRAPE = 30.0
EVALUATE = 60.0
MINUTE = 60.0
HOUR = 3600.0


@dataclass
class Sample:
    """One instant of a scenario: counter rates per second and gauge values, by (name, labels)."""

    rates: dict[tuple[str, Labels], float] = field(default_factory=dict)
    gauges: dict[tuple[str, Labels], float] = field(default_factory=dict)

    def count(self, name: str, per_second: float, **label_values: str) -> None:
        key = (name, labels(**label_values))
        self.rates[key] = self.rates.get(key, 0.0) + per_second

    def gauge(self, name: str, value: float, **label_values: str) -> None:
        self.gauges[(name, labels(**label_values))] = value

    def histogram(
        self,
        histogram: Any,
        per_second: float,
        slow_fraction: float,
        fast: float,
        slow: float,
        **label_values: str,
    ) -> None:
        """`per_second` observations, `slow_fraction` of them taking `slow` seconds, the rest `fast`;
        the buckets are the real histogram's."""
        name = histogram._name
        for bound in histogram._upper_bounds:
            within = (1 - slow_fraction) * (fast <= bound) + slow_fraction * (slow <= bound)
            self.count(f"{name}_bucket", per_second * within, le=floatToGoString(bound), **label_values)
        self.count(f"{name}_count", per_second, **label_values)
        self.count(
            f"{name}_sum", per_second * ((1 - slow_fraction) * fast + slow_fraction * slow), **label_values
        )


Scenario = Callable[[float], Sample]


def healthy(sample: Sample, t: float) -> None:
    """What a quiet, healthy shop exports: traffic on every SLI, sagas settling, engines at ease."""
    ok = 20.0
    sample.count("mercato_graphql_operations_total", ok, type="query", field="products", outcome="ok")
    sample.count("mercato_graphql_operations_total", 0.2, type="query", field="products", outcome="rejected")
    sample.histogram(bm.graphql_duration, ok, 0.001, 0.02, 0.8, type="query", field="products")
    sample.count(
        "mercato_graphql_operations_total", 0.5, type="mutation", field="checkoutComplete", outcome="ok"
    )
    sample.histogram(bm.graphql_duration, 0.5, 0.0, 0.3, 0.3, type="mutation", field="checkoutComplete")
    sample.histogram(bm.checkout_duration, 0.5, 0.001, 0.3, 3.0, status="CONFIRMED")
    sample.count("mercato_orders_total", 0.5, event="placed")
    sample.count("mercato_orders_total", 0.45, event="confirmed")
    sample.count("mercato_orders_total", 0.05, event="rejected")
    sample.count("mercato_consumer_redeliveries_total", 0.01, consumer="orders_saga")
    sample.count("mercato_consumer_dead_letters_total", 0.0, consumer="orders_saga")
    sample.count("mercato_payment_errors_total", 0.001, operation="capture", code="PROVIDER_ERROR")
    sample.gauge("mercato_consumer_pending_messages", 3.0, stream="NS_ORDERS", consumer="orders_saga")
    sample.gauge("mercato_outbox_pending_events", 1.0, context="orders")
    sample.gauge("mercato_outbox_oldest_pending_age_seconds", 0.4, context="orders")
    target = {"job": "mercato", "instance": "orders:8000", "component": "orders"}
    for state, value in (("in_use", 3.0), ("idle", 7.0), ("size", 10.0)):
        sample.gauge("mercato_db_pool_connections", value, state=state, **target)
    sample.gauge("up", 1.0, **target)
    sample.histogram(bm.saga_step_duration, 0.5, 0.0, 0.08, 0.08, step="reserve_stock", outcome="ok")
    sample.gauge("mercato_saga_stuck_oldest_seconds", 0.0, step="charge_payment")
    sample.gauge("mercato_sagas_stuck", 0.0, step="charge_payment", age="under_5m")
    sample.gauge("mercato_sagas_parked", 0.0, step="refund_payment")
    sample.count("mercato_self_heal_actions_total", 0.0, action="give_up", component="orders")
    sample.histogram(bm.db_pool_wait, 30.0, 0.0, 0.0004, 0.0004, component="orders")


@dataclass
class Run:
    firing: dict[str, list[float]]  # alert -> the evaluation times at which it was firing
    store: Store

    def first(self, alert: str) -> float | None:
        times = self.firing.get(alert)
        return times[0] if times else None

    def last(self, alert: str) -> float | None:
        times = self.firing.get(alert)
        return times[-1] if times else None


def run(
    groups: list[dict[str, Any]], scenario: Scenario, until: float, *, only: set[str] | None = None
) -> Run:
    store = Store()
    rules = Rules(groups, store, only=only)
    totals: dict[tuple[str, Labels], float] = {}
    firing: dict[str, list[float]] = {}
    t = 0.0
    while t <= until:
        sample = scenario(t)
        for key, per_second in sample.rates.items():
            totals[key] = totals.get(key, 0.0) + per_second * SCRAPE
        for (name, series_labels), total in totals.items():
            store.add(name, series_labels, t, total)
        for (name, series_labels), value in sample.gauges.items():
            store.add(name, series_labels, t, value)
        if t % EVALUATE == 0:
            for alert in rules.step(t):
                firing.setdefault(alert, []).append(t)
        t += SCRAPE
    return Run(firing, store)
