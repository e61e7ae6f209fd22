"""Watching a process's metrics: counters become rates, an outage of confirmations is reported."""

from __future__ import annotations

import math

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from mercato.ops.watch import Watch

T0 = 1_780_272_000.0


def test_a_stop_in_confirmations_is_reported_with_what_and_since_when() -> None:
    registry = CollectorRegistry()
    orders = Counter("mercato_orders_total", "orders", ["event"], registry=registry)
    lag = Gauge("mercato_consumer_pending_messages", "lag", ["stream", "consumer"], registry=registry)
    watch = Watch()
    alerts = []
    for i in range(400):
        t = T0 + 60 * i
        stopped = i >= 350
        orders.labels("confirmed").inc(0 if stopped else 30 + 10 * math.sin(i / 40))
        lag.labels("ORDERS", "saga").set(3 + i % 2)
        alerts += [(i, a) for a in watch.feed(t, generate_latest(registry).decode())]

    assert [(i, a.series, a.reading.kind) for i, a in alerts] == [
        (350, "mercato_orders_per_second{event=confirmed}", "dip")
    ]
    assert (
        alerts[0][1]
        .message()
        .startswith("mercato_orders_per_second{event=confirmed} is 0, below its normal 0.")
    )
    assert alerts[0][1].message().endswith("since 2026-06-01 05:50:00 UTC")
    assert set(watch.last) == {
        "mercato_orders_per_second{event=confirmed}",
        "mercato_consumer_pending_messages",
    }
