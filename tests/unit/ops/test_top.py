"""`mercato ops top`'s frame from two scrapes of real `/metrics` expositions: rates over the interval,
quantiles from the buckets observed in it, orders in flight, lag, and a process that cannot be scraped."""

from __future__ import annotations

import io

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from rich.console import Console

from mercato.ops.top import Top
from mercato.ops.top_view import render


class Process:
    """The series `ops top` reads, under the names the code exports, in a registry of their own (the
    process-wide business registry is shared by the whole test session)."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.operations = Counter(
            "mercato_graphql_operations_total", "", ["type", "field", "outcome"], registry=r
        )
        self.duration = Histogram(
            "mercato_graphql_operation_duration_seconds",
            "",
            ["type", "field"],
            registry=r,
            buckets=(0.01, 0.1, 1.0),
        )
        self.orders = Counter("mercato_orders_total", "", ["event"], registry=r)
        self.lag = Gauge("mercato_consumer_pending_messages", "", ["stream", "consumer"], registry=r)
        self.dead = Counter("mercato_consumer_dead_letters_total", "", ["consumer"], registry=r)
        self.stuck = Gauge("mercato_sagas_stuck", "", ["step", "age"], registry=r)

    def exposition(self) -> str:
        return generate_latest(self.registry).decode()


def test_two_scrapes_make_rates_quantiles_and_saga_counts() -> None:
    process = Process()
    url = "http://orders:8000/metrics"
    top = Top([url])
    process.orders.labels("placed").inc(5)
    process.orders.labels("confirmed").inc(3)
    process.duration.labels("query", "products").observe(5.0)  # before the interval: not in its quantiles
    top.feed(url, 100.0, process.exposition())

    # Within 10 seconds: 20 products queries (2 failing), all fast; 4 more orders placed, 1 rejected.
    process.operations.labels("query", "products", "ok").inc(18)
    process.operations.labels("query", "products", "error").inc(2)
    for _ in range(20):
        process.duration.labels("query", "products").observe(0.05)
    process.orders.labels("placed").inc(4)
    process.orders.labels("rejected").inc(1)
    process.lag.labels("NS_ORDERS", "ns_orders_saga").set(7)
    process.dead.labels("saga").inc()
    process.stuck.labels("charge_payment", "under_5m").set(1)
    process.stuck.labels("charge_payment", "5m_1h").set(2)
    top.feed(url, 110.0, process.exposition())
    frame = top.frame()

    [row] = frame.processes
    assert (row.graphql_per_s, row.errors_per_s) == (2.0, 0.2)
    assert row.latency is not None and not row.latency.lifetime
    assert row.latency.p50 is not None and 0.01 < row.latency.p50 <= 0.1
    [operation] = frame.operations
    assert (operation.kind, operation.field, operation.per_s, operation.errors_per_s) == (
        "query",
        "products",
        2.0,
        0.2,
    )
    assert frame.orders_total == {"placed": 9.0, "confirmed": 3.0, "rejected": 1.0}
    assert frame.orders_per_min["placed"] == 24.0
    assert frame.in_flight_orders == 5.0
    assert frame.consumers == [("NS_ORDERS", "ns_orders_saga", 7.0)]
    assert frame.deliveries == {"saga": (0.0, 1.0)}
    assert frame.interval == 10.0
    assert frame.stuck == {"charge_payment": 3.0}


def test_without_observations_in_the_interval_quantiles_cover_the_process_life() -> None:
    process = Process()
    url = "http://gateway:8000/metrics"
    top = Top([url])
    process.duration.labels("query", "products").observe(0.5)
    top.feed(url, 0.0, process.exposition())
    top.feed(url, 5.0, process.exposition())

    [row] = top.frame().processes

    assert row.latency is not None and row.latency.lifetime
    assert row.latency.p99 is not None and 0.1 < row.latency.p99 <= 1.0


def test_a_process_that_cannot_be_scraped_is_a_row_saying_so() -> None:
    up, down = "http://gateway:8000/metrics", "http://orders:8001/metrics"
    top = Top([up, down])
    top.feed(up, 0.0, Process().exposition())
    top.feed(down, 0.0, None, "connection refused")

    frame = top.frame()
    output = io.StringIO()
    Console(file=output, width=160).print(render(frame))

    assert [r.error for r in frame.processes] == [None, "connection refused"]
    assert "down: connection refused" in output.getvalue()
    assert "one scrape: no rates yet" in output.getvalue()
