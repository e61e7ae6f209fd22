"""Business and saga metrics, counted from the domain events each process commits.

Every fact an operator asks about (an order placed, confirmed, rejected and why, cancelled, refunded;
a payment declined or refused by the provider; a stock-out; a reservation that expired; each saga
command and reply) is already a domain event committed with its change. `UnitOfWork.commit` hands
the committed events to `observe_committed`: a dictionary lookup and a counter increment per event,
no SQL, no I/O, and nothing counted for a transaction that rolled back. A redelivered message whose
inbox row makes it a no-op commits no event, so it is not counted twice.

These counters live in one registry per process (`BUSINESS`), which every `Metrics` object exposes
beside its own: the events are counted wherever they commit, whichever server scrapes them.

Labels stay bounded: event types are a fixed set of the code; reasons and codes come from enums or
from the payment provider, so each label keeps at most `MAX_VALUES` distinct values and folds any
further one into "other". No id ever becomes a label.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from sqlalchemy.pool import Pool

    from mercato.platform.events import DomainEvent

MAX_VALUES = 32
OTHER = "other"

BUSINESS = CollectorRegistry(auto_describe=True)

events_committed = Counter(
    "mercato_domain_events_total",
    "Domain events committed by this process (saga commands and replies included), by type.",
    ["type"],
    registry=BUSINESS,
)
orders = Counter(
    "mercato_orders_total",
    "Orders by lifecycle step: placed, confirmed, rejected, cancelled, refunded, fulfilled.",
    ["event"],
    registry=BUSINESS,
)
orders_rejected = Counter(
    "mercato_orders_rejected_total", "Orders rejected by the saga, by reason.", ["reason"], registry=BUSINESS
)
payment_declines = Counter(
    "mercato_payment_declines_total",
    "Payments the provider declined, by decline code.",
    ["code"],
    registry=BUSINESS,
)
payment_errors = Counter(
    "mercato_payment_errors_total",
    "Payment operations refused for good (provider or state errors), by operation and code.",
    ["operation", "code"],
    registry=BUSINESS,
)
stock_outs = Counter(
    "mercato_stock_outs_total", "Reservation requests refused for lack of stock.", registry=BUSINESS
)
reservations_released = Counter(
    "mercato_reservations_released_total",
    "Reservations released, by status (EXPIRED: the sweeper released it after its expiry).",
    ["status"],
    registry=BUSINESS,
)
checkout_duration = Histogram(
    "mercato_checkout_duration_seconds",
    "checkoutComplete from the request to its answer, by the order status answered "
    "(CONFIRMED / REJECTED: the saga settled in time; PENDING: it had not).",
    ["status"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 30.0),
    registry=BUSINESS,
)
graphql_operations = Counter(
    "mercato_graphql_operations_total",
    "GraphQL operations by type, first root field and outcome (ok, rejected: the request's fault, "
    "error: the server's).",
    ["type", "field", "outcome"],
    registry=BUSINESS,
)
graphql_duration = Histogram(
    "mercato_graphql_operation_duration_seconds",
    "GraphQL operations from parsing to the result, by type and first root field.",
    ["type", "field"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=BUSINESS,
)

search_index_lag = Histogram(
    "mercato_search_index_lag_seconds",
    "From an event's occurrence (its occurred_at) to the commit of the search index change it caused, "
    "by event type: how stale search answers are.",
    ["type"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0),
    registry=BUSINESS,
)

consumer_redeliveries = Counter(
    "mercato_consumer_redeliveries_total",
    "Messages a durable consumer received again (a failed or timed-out earlier delivery).",
    ["consumer"],
    registry=BUSINESS,
)
dead_letters = Counter(
    "mercato_consumer_dead_letters_total",
    "Messages parked in a context's dead_letters table after their last try.",
    ["consumer"],
    registry=BUSINESS,
)
response_cache = Counter(
    "mercato_response_cache_requests_total",
    "Cacheable GraphQL requests by result: hit, or miss (the query ran). Hit ratio: hit / sum.",
    ["result"],
    registry=BUSINESS,
)

saga_step_duration = Histogram(
    "mercato_saga_step_duration_seconds",
    "A checkout saga step from its command to the reply that ended it (re-sends included), by step "
    "(reserve_stock, charge_payment, commit_stock, release_stock, ...) and outcome (ok, or failed when "
    "the step's end rejected the order).",
    ["step", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
    registry=BUSINESS,
)
sagas_stuck = Gauge(
    "mercato_sagas_stuck",
    "Sagas whose step deadline passed more than the grace ago (nothing drove them on), by the step "
    "awaited and its age (under_5m, 5m_1h, 1h_1d, over_1d); sampled from orders.sagas at scrape time.",
    ["step", "age"],
    registry=BUSINESS,
)
saga_stuck_oldest = Gauge(
    "mercato_saga_stuck_oldest_seconds",
    "Age of the oldest stuck saga's awaited step, by step (0: none stuck).",
    ["step"],
    registry=BUSINESS,
)
sagas_parked = Gauge(
    "mercato_sagas_parked",
    "Sagas parked for a person (an undo or refund nobody confirms after its re-sends), by the step "
    "awaited; sampled from orders.sagas at scrape time.",
    ["step"],
    registry=BUSINESS,
)
db_pool_wait = Histogram(
    "mercato_db_pool_wait_seconds",
    "Time to get a connection from this process's database pools (a wait for a free one, or for a "
    "new connection to open).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=BUSINESS,
)
self_heal_actions = Counter(
    "mercato_self_heal_actions_total",
    "Actions this process took on its own: a wedged loop restarted (restart) or given up on (give_up), "
    "stuck sagas driven on (drive_sagas), readiness held out of rotation (hold_not_ready, "
    "release_hold), the payment provider's circuit opened or closed (breaker_open, breaker_close...).",
    ["action", "component"],
    registry=BUSINESS,
)
payment_breaker_state = Gauge(
    "mercato_payment_breaker_state",
    "The payment provider's circuit breaker in this process: 1 for its current state (closed, open, "
    "half_open), 0 for the others.",
    ["state"],
    registry=BUSINESS,
)

_ORDER_EVENTS = {
    "orders.order_placed": "placed",
    "orders.order_confirmed": "confirmed",
    "orders.order_rejected": "rejected",
    "orders.order_cancelled": "cancelled",
    "orders.order_refunded": "refunded",
    "orders.order_fulfilled": "fulfilled",
}
_seen: dict[str, set[str]] = {}


def bounded(label: str, value: object) -> str:
    """`value` as a label value, or "other" once `label` has MAX_VALUES distinct values."""
    text = str(value or "") or "none"
    seen = _seen.setdefault(label, set())
    if text in seen:
        return text
    if len(seen) >= MAX_VALUES:
        return OTHER
    seen.add(text)
    return text


def observe_committed(events: Iterable[DomainEvent]) -> None:
    """Count committed events; never raises (a metric must not fail a committed transaction)."""
    for event in events:
        try:
            _observe(event.type_name(), event)
        except Exception:  # noqa: BLE001, S112 - a malformed event is not worth a failed request
            continue


def _observe(kind: str, event: DomainEvent) -> None:
    events_committed.labels(kind).inc()
    step = _ORDER_EVENTS.get(kind)
    if step is not None:
        orders.labels(step).inc()
        if step == "rejected":
            orders_rejected.labels(bounded("reason", _field(event, "reason"))).inc()
        return
    if kind == "payments.payment_declined":
        payment_declines.labels(bounded("decline_code", _field(event, "decline_code"))).inc()
    elif kind == "payments.payment_operation_failed":
        payment_errors.labels(
            bounded("operation", _field(event, "operation")), bounded("error_code", _field(event, "code"))
        ).inc()
    elif kind == "inventory.stock_reservation_rejected":
        stock_outs.inc()
    elif kind == "inventory.reservation_released":
        reservations_released.labels(bounded("release_status", _field(event, "status"))).inc()


def _field(event: DomainEvent, name: str) -> Any:
    value = getattr(event, name, None)
    return getattr(value, "value", value)  # enums count by their value


_pools: weakref.WeakSet[Pool] = weakref.WeakSet()


def watch_pool(pool: Pool) -> None:
    """Report this connection pool's use at every scrape (read from the pool: no query)."""
    _pools.add(pool)


class _PoolCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "mercato_db_pool_connections",
            "Database connections of this process's pools: in use, idle, and the pools' size.",
            labels=["state"],
        )
        pools = list(_pools)
        for state, read in (("in_use", "checkedout"), ("idle", "checkedin"), ("size", "size")):
            family.add_metric([state], float(sum(getattr(p, read)() for p in pools if hasattr(p, read))))
        yield family


BUSINESS.register(_PoolCollector())


class BusinessCollector(Collector):
    """Exposes `BUSINESS` inside another registry (each `Metrics` has its own)."""

    def collect(self) -> Iterator[Metric]:
        yield from BUSINESS.collect()

    def describe(self) -> list[Metric]:
        return []  # unchecked: its names are BUSINESS's, which never clash with Metrics' own
