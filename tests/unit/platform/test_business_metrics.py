"""Business counters: counted from committed events, exposed by every `Metrics`, labels bounded."""

from __future__ import annotations

from mercato.orders.domain.events import OrderPlaced, OrderRejected
from mercato.payments.domain.events import PaymentDeclined
from mercato.platform import business_metrics
from mercato.platform.business_metrics import MAX_VALUES, OTHER, bounded, observe_committed
from mercato.platform.db import Database
from mercato.platform.metrics import Metrics


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_committed_events_are_counted_and_exposed() -> None:
    metrics = Metrics(process_collectors=False)
    placed = sample(metrics, "mercato_orders_total", event="placed")
    rejected = sample(metrics, "mercato_orders_rejected_total", reason="PAYMENT_DECLINED")
    declined = sample(metrics, "mercato_payment_declines_total", code="INSUFFICIENT_FUNDS")

    observe_committed(
        [
            OrderPlaced(aggregate_id="o1", order_id="o1", customer_id="c1", total_amount=100, currency="USD"),
            OrderRejected(aggregate_id="o1", order_id="o1", customer_id="c1", reason="PAYMENT_DECLINED"),
            PaymentDeclined(
                aggregate_id="i1",
                intent_id="i1",
                order_reference="o1",
                amount=100,
                currency="USD",
                decline_code="INSUFFICIENT_FUNDS",
            ),
        ]
    )

    assert sample(metrics, "mercato_orders_total", event="placed") == placed + 1
    assert sample(metrics, "mercato_orders_rejected_total", reason="PAYMENT_DECLINED") == rejected + 1
    assert sample(metrics, "mercato_payment_declines_total", code="INSUFFICIENT_FUNDS") == declined + 1
    assert b"mercato_domain_events_total" in metrics.exposition()


def test_a_label_keeps_a_bounded_number_of_values() -> None:
    label = "test-label"
    business_metrics._seen.pop(label, None)

    kept = [bounded(label, f"v{i}") for i in range(MAX_VALUES + 5)]

    assert kept[:MAX_VALUES] == [f"v{i}" for i in range(MAX_VALUES)]
    assert kept[MAX_VALUES:] == [OTHER] * 5
    assert bounded(label, "v0") == "v0"
    assert bounded(label, None) == OTHER


def test_the_connection_pools_are_reported_without_a_query() -> None:
    metrics = Metrics(process_collectors=False)
    before = sample(metrics, "mercato_db_pool_connections", state="size")

    db = Database("postgresql://nobody@127.0.0.1:1/none", pool_size=7)

    # The pool's size is what it may keep: twice `pool_size` (docs: `Database`).
    assert sample(metrics, "mercato_db_pool_connections", state="size") == before + 14
    assert sample(metrics, "mercato_db_pool_connections", state="in_use") >= 0
    del db
