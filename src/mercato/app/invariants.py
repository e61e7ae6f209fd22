"""The invariant checker behind `mercato verify`: what must hold across the contexts once work has
settled, read straight from each context's own tables (and the carts in Redis).

It lives in the composition root because it is the one reader allowed to see every context's schema
(import-linter keeps the contexts apart). It only reads: every query runs in one REPEATABLE READ, READ
ONLY transaction, so the checks see one snapshot of the database and cannot change it.

A `Scope` narrows the checks to some orders, SKUs and to rows written since a moment, so a test on the
shared test database checks what it made and nothing another test left behind; the command checks
everything. Each check returns how many things it looked at, a one-line note and its violations.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.platform.db import Database

# Statuses in which nothing is in flight that would move the order on its own (`OrderStatus.is_terminal`).
SETTLED = ("CONFIRMED", "FULFILLED", "PARTIALLY_REFUNDED", "REFUNDED", "REJECTED", "CANCELLED")
# What a settled order still owes, in minor units: paid orders keep what was not refunded.
_OWED = (
    "CASE o.status WHEN 'CONFIRMED' THEN o.total_amount - o.refunded_amount "
    "WHEN 'FULFILLED' THEN o.total_amount - o.refunded_amount "
    "WHEN 'PARTIALLY_REFUNDED' THEN o.total_amount - o.refunded_amount ELSE 0 END"
)
# The cart empties itself of an order's lines when it consumes `order_confirmed`: these orders were.
CONFIRMED_ONCE = ("CONFIRMED", "FULFILLED", "PARTIALLY_REFUNDED", "REFUNDED", "CANCELLING", "CANCELLED")
# Contexts with an outbox, an inbox and dead letters in their schema (the cart keeps none).
MESSAGING_SCHEMAS = ("catalog", "inventory", "customers", "payments", "orders")


@dataclass(frozen=True)
class Scope:
    """What to check; None: everything."""

    orders: Sequence[uuid.UUID] | None = None
    skus: Sequence[str] | None = None
    since: datetime | None = None  # outbox, inbox and dead-letter rows written from then on


@dataclass(frozen=True)
class Limits:
    # How long past its saga's deadline an order may stay in flight: the saga sweeper runs every few
    # seconds, so more than this means nothing is driving it on.
    in_flight_grace: timedelta = timedelta(seconds=60)
    # An event still unpublished this long after its commit is not going to be published by itself.
    quiescence: timedelta = timedelta(seconds=30)
    # A bought-lines marker lives as long as the cart; older confirmations cannot be checked.
    cart_ttl: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Violation:
    check: str
    subject: str
    detail: str


@dataclass
class CheckResult:
    name: str
    checked: int = 0
    note: str = ""
    violations: list[Violation] = field(default_factory=list)

    def fail(self, subject: object, detail: str) -> None:
        self.violations.append(Violation(self.name, str(subject), detail))


@dataclass(frozen=True)
class Report:
    results: list[CheckResult]

    @property
    def violations(self) -> list[Violation]:
        return [v for r in self.results for v in r.violations]

    @property
    def ok(self) -> bool:
        return not self.violations


def _params(scope: Scope) -> dict[str, object]:
    return {
        "ids": list(scope.orders) if scope.orders is not None else None,
        "refs": [str(i) for i in scope.orders] if scope.orders is not None else None,
        "skus": list(scope.skus) if scope.skus is not None else None,
        "since": scope.since,
    }


_IN_ORDERS = "(CAST(:ids AS uuid[]) IS NULL OR o.id = ANY(CAST(:ids AS uuid[])))"
_IN_REFS = "(CAST(:refs AS text[]) IS NULL OR {col} = ANY(CAST(:refs AS text[])))"
_IN_SKUS = "(CAST(:skus AS text[]) IS NULL OR {col} = ANY(CAST(:skus AS text[])))"
_SINCE = "(CAST(:since AS timestamptz) IS NULL OR {col} >= CAST(:since AS timestamptz))"


async def check_orders(conn: AsyncConnection, scope: Scope, limits: Limits, now: datetime) -> CheckResult:
    """Every order settled, or in flight with its saga waiting on a deadline not long past."""
    result = CheckResult("orders terminal or in flight")
    rows = (
        await conn.execute(
            text(
                "SELECT o.id, o.status, o.created_at, s.order_id IS NOT NULL AS has_saga, s.deadline "
                f"FROM orders.orders o LEFT JOIN orders.sagas s ON s.order_id = o.id WHERE {_IN_ORDERS}"
            ),
            _params(scope),
        )
    ).all()
    result.checked = len(rows)
    in_flight = []
    for row in rows:
        settled = row.status in SETTLED
        if settled and row.deadline is None:
            continue
        # Settled orders may still have work out (a refund, a restock): that too has a deadline.
        in_flight.append(now - row.created_at)
        if not row.has_saga:
            result.fail(row.id, f"{row.status} with no saga to drive it")
        elif row.deadline is None:
            result.fail(row.id, f"{row.status} and its saga awaits nothing")
        elif row.deadline + limits.in_flight_grace < now:
            late = (now - row.deadline).total_seconds()
            result.fail(row.id, f"{row.status}, saga deadline passed {late:.0f} s ago")
    oldest = f", oldest {max(in_flight).total_seconds():.1f} s" if in_flight else ""
    result.note = f"{len(rows) - len(in_flight)} settled, {len(in_flight)} in flight{oldest}"
    return result


async def check_money(conn: AsyncConnection, scope: Scope) -> CheckResult:
    """For settled orders: captured - refunded in the ledger = what the order says is still owed; no
    authorization of a settled order left open."""
    result = CheckResult("money reconciles")
    params = {**_params(scope), "settled": list(SETTLED)}
    rows = (
        await conn.execute(
            text(
                f"SELECT o.id, o.status, o.currency, {_OWED} AS owed, "
                "coalesce(sum(CASE l.kind WHEN 'CAPTURE' THEN l.amount ELSE 0 END), 0)::bigint AS captured, "
                "coalesce(sum(CASE l.kind WHEN 'REFUND' THEN l.amount ELSE 0 END), 0)::bigint AS refunded "
                "FROM orders.orders o LEFT JOIN payments.ledger_entries l ON l.order_reference = o.id::text "
                f"WHERE o.status = ANY(:settled) AND {_IN_ORDERS} "
                "GROUP BY o.id, o.status, o.currency, o.total_amount, o.refunded_amount"
            ),
            params,
        )
    ).all()
    result.checked = len(rows)
    totals: dict[str, list[int]] = {}
    for row in rows:
        net = int(row.captured) - int(row.refunded)
        total = totals.setdefault(row.currency, [0, 0])
        total[0] += net
        total[1] += int(row.owed)
        if net != row.owed:
            result.fail(row.id, f"{row.status}: captured - refunded = {net}, owed {row.owed}")
    open_authorizations = await conn.execute(
        text(
            "SELECT o.id, o.status FROM orders.orders o JOIN payments.payment_intents i "
            "ON i.order_reference = o.id::text "
            f"WHERE i.status = 'AUTHORIZED' AND o.status = ANY(:settled) AND {_IN_ORDERS}"
        ),
        params,
    )
    for row in open_authorizations:
        result.fail(row.id, f"{row.status} but its authorization is neither captured nor voided")
    result.note = "; ".join(
        f"Σ captured - Σ refunded = {net} {cur}, Σ owed = {owed}"
        for cur, (net, owed) in sorted(totals.items())
    )
    return result


async def check_stock(conn: AsyncConnection, scope: Scope, limits: Limits, now: datetime) -> CheckResult:
    """Per SKU and warehouse: initial + adjustments - committed = on hand (initial: the count a bulk
    import created the row with, audited once per import), reserved = Σ open reservations, none
    negative, nothing reserved beyond what is on hand, no reservation left open past its expiry."""
    result = CheckResult("stock")
    rows = (
        await conn.execute(
            text(
                "WITH adj AS (SELECT sku, warehouse_id, sum(delta)::bigint AS delta "
                f"FROM inventory.adjustments WHERE {_IN_SKUS.format(col='sku')} GROUP BY 1, 2), "
                "alloc AS (SELECT a.sku, a.warehouse_id, "
                " sum(a.quantity) FILTER (WHERE r.status = 'COMMITTED')::bigint AS committed, "
                " sum(a.quantity) FILTER (WHERE r.status = 'ACTIVE')::bigint AS open "
                " FROM inventory.reservation_allocations a JOIN inventory.reservations r "
                f" ON r.id = a.reservation_id WHERE {_IN_SKUS.format(col='a.sku')} GROUP BY 1, 2) "
                "SELECT s.sku, s.warehouse_id, s.on_hand, s.reserved, "
                " s.initial + coalesce(adj.delta, 0) AS adjusted, "
                " coalesce(alloc.committed, 0) AS committed, coalesce(alloc.open, 0) AS open "
                "FROM inventory.stock s LEFT JOIN adj USING (sku, warehouse_id) "
                f"LEFT JOIN alloc USING (sku, warehouse_id) WHERE {_IN_SKUS.format(col='s.sku')}"
            ),
            _params(scope),
        )
    ).all()
    result.checked = len(rows)
    for row in rows:
        subject = f"{row.sku}@{str(row.warehouse_id)[:8]}"
        expected = int(row.adjusted) - int(row.committed)
        if row.on_hand != expected:
            result.fail(subject, f"on hand {row.on_hand}, initial + adjustments - committed = {expected}")
        if row.reserved != row.open:
            result.fail(subject, f"reserved {row.reserved}, open reservations hold {row.open}")
        if row.on_hand < 0 or row.reserved < 0:
            result.fail(subject, f"negative: on hand {row.on_hand}, reserved {row.reserved}")
        elif row.reserved > row.on_hand:
            result.fail(subject, f"oversold: reserved {row.reserved} > on hand {row.on_hand}")
    overdue = await conn.execute(
        text(
            "SELECT r.reference, r.expires_at FROM inventory.reservations r WHERE r.status = 'ACTIVE' "
            "AND r.expires_at < CAST(:before AS timestamptz) AND (CAST(:skus AS text[]) IS NULL OR EXISTS "
            "(SELECT 1 FROM inventory.reservation_allocations a WHERE a.reservation_id = r.id "
            "AND a.sku = ANY(CAST(:skus AS text[]))))"
        ),
        {**_params(scope), "before": now - limits.in_flight_grace},
    )
    for row in overdue:
        result.fail(row.reference, f"reservation still ACTIVE, expired at {row.expires_at:%H:%M:%S}")
    result.note = f"{len(rows)} stock rows"
    return result


async def check_payments(conn: AsyncConnection, scope: Scope) -> CheckResult:
    """No payment captured twice: one capture per order, an intent's totals equal its ledger, never
    more captured than authorized nor more refunded than captured."""
    result = CheckResult("no double capture")
    refs = _IN_REFS.format(col="i.order_reference")
    rows = (
        await conn.execute(
            text(
                "SELECT i.id, i.order_reference, i.amount, i.captured_amount, i.refunded_amount, "
                " coalesce(sum(l.amount) FILTER (WHERE l.kind = 'CAPTURE'), 0)::bigint AS captured, "
                " count(l.id) FILTER (WHERE l.kind = 'CAPTURE') AS captures, "
                " coalesce(sum(l.amount) FILTER (WHERE l.kind = 'REFUND'), 0)::bigint AS refunded "
                "FROM payments.payment_intents i LEFT JOIN payments.ledger_entries l ON l.intent_id = i.id "
                f"WHERE {refs} GROUP BY i.id"
            ),
            _params(scope),
        )
    ).all()
    result.checked = len(rows)
    captured_per_order: dict[str, int] = {}
    for row in rows:
        subject = f"intent {str(row.id)[:8]} of {row.order_reference}"
        if row.captures:
            captured_per_order[row.order_reference] = captured_per_order.get(row.order_reference, 0) + 1
        if row.captures > 1:
            result.fail(subject, f"captured {row.captures} times")
        if row.captured_amount != row.captured or row.refunded_amount != row.refunded:
            result.fail(
                subject,
                f"intent says captured {row.captured_amount} refunded {row.refunded_amount}, "
                f"ledger {row.captured} / {row.refunded}",
            )
        if row.captured > row.amount or row.refunded > row.captured:
            result.fail(subject, f"amount {row.amount}, captured {row.captured}, refunded {row.refunded}")
    for reference, intents in captured_per_order.items():
        if intents > 1:
            result.fail(reference, f"{intents} intents captured for one order")
    result.note = f"{sum(captured_per_order.values())} captures"
    return result


async def check_applied_once(conn: AsyncConnection, scope: Scope) -> CheckResult:
    """No message applied twice: one inbox row per message and consumer, and no order recording the
    same status twice in a row (the saga moves an order only when its status changes, so a repeat is a
    saga reply applied a second time)."""
    result = CheckResult("no message applied twice")
    for schema in MESSAGING_SCHEMAS:
        rows = await conn.execute(
            text(
                f"SELECT consumer, event_id, count(*) AS n FROM {schema}.inbox "
                f"WHERE {_SINCE.format(col='received_at')} GROUP BY 1, 2 HAVING count(*) > 1"
            ),
            _params(scope),
        )
        for row in rows:
            result.fail(f"{schema}.{row.consumer}", f"event {row.event_id} claimed {row.n} times")
    rows = await conn.execute(
        text(
            "SELECT order_id, status FROM (SELECT h.order_id, h.status, "
            " lag(h.status) OVER (PARTITION BY h.order_id ORDER BY h.seq, h.at) AS previous "
            f" FROM orders.status_history h JOIN orders.orders o ON o.id = h.order_id WHERE {_IN_ORDERS}) t "
            "WHERE status = previous"
        ),
        _params(scope),
    )
    for row in rows:
        result.fail(row.order_id, f"moved to {row.status} twice in a row")
    checked = await conn.execute(
        text(
            "SELECT count(*) FROM orders.status_history h JOIN orders.orders o ON o.id = h.order_id "
            f"WHERE {_IN_ORDERS}"
        ),
        _params(scope),
    )
    result.checked = int(checked.scalar_one())
    result.note = f"{result.checked} order transitions, inboxes of {len(MESSAGING_SCHEMAS)} contexts"
    return result


async def check_outboxes(conn: AsyncConnection, scope: Scope, limits: Limits, now: datetime) -> CheckResult:
    """Outboxes drained once things are quiet; no message parked in a dead-letter table."""
    result = CheckResult("outboxes drained")
    params = {**_params(scope), "before": now - limits.quiescence}
    checked = 0
    for schema in MESSAGING_SCHEMAS:
        row = (
            await conn.execute(
                text(
                    "SELECT count(*) AS total, count(*) FILTER (WHERE published_at IS NULL "
                    "AND created_at < CAST(:before AS timestamptz)) AS stuck, min(created_at) FILTER "
                    f"(WHERE published_at IS NULL) AS oldest FROM {schema}.outbox "
                    f"WHERE {_SINCE.format(col='created_at')}"
                ),
                params,
            )
        ).one()
        checked += int(row.total)
        if row.stuck:
            result.fail(f"{schema}.outbox", f"{row.stuck} events unpublished since {row.oldest:%H:%M:%S}")
        parked = await conn.execute(
            text(
                f"SELECT consumer, count(*) AS n FROM {schema}.dead_letters "
                f"WHERE {_SINCE.format(col='failed_at')} GROUP BY consumer"
            ),
            params,
        )
        for dead in parked:
            result.fail(f"{schema}.dead_letters", f"{dead.n} messages of {dead.consumer} parked")
    result.checked = checked
    result.note = f"{checked} events"
    return result


async def check_carts(
    conn: AsyncConnection, redis: Redis, namespace: str, scope: Scope, limits: Limits, now: datetime
) -> CheckResult:
    """Every cart of a confirmed order had the order's lines removed (the cart's bought-lines marker
    is there), unless the cart itself is gone (expired, or never kept)."""
    result = CheckResult("carts of confirmed orders emptied")
    rows = (
        await conn.execute(
            text(
                "SELECT o.id, o.cart_id FROM orders.orders o WHERE o.cart_id IS NOT NULL "
                "AND o.status = ANY(:confirmed) AND o.created_at > CAST(:after AS timestamptz) "
                # A cancel may come before the confirmation (CANCELLED without ever being CONFIRMED,
                # no `order_confirmed`, the cart keeps its lines): only orders confirmed once count.
                "AND EXISTS (SELECT 1 FROM orders.status_history h WHERE h.order_id = o.id "
                "AND h.status = 'CONFIRMED') "
                f"AND {_IN_ORDERS}"
            ),
            {**_params(scope), "confirmed": list(CONFIRMED_ONCE), "after": now - limits.cart_ttl},
        )
    ).all()
    result.checked = len(rows)
    if rows:
        async with redis.pipeline(transaction=False) as pipe:
            for row in rows:
                key = f"{namespace}:cart:{row.cart_id}"
                pipe.exists(key)
                pipe.exists(f"{key}:bought:{row.id}")
            answers = await pipe.execute()
        for index, row in enumerate(rows):
            cart_exists, marked = answers[2 * index], answers[2 * index + 1]
            if cart_exists and not marked:
                result.fail(row.id, f"cart {row.cart_id} still holds the order's lines")
    result.note = f"{len(rows)} carts"
    return result


async def verify(
    db: Database,
    redis: Redis,
    namespace: str,
    *,
    scope: Scope | None = None,
    limits: Limits | None = None,
    now: datetime | None = None,
) -> Report:
    """Run every check on one snapshot; never writes."""
    scope, limits = scope or Scope(), limits or Limits()
    async with db.engine.connect() as raw:
        conn = await raw.execution_options(isolation_level="REPEATABLE READ")
        await conn.execute(text("SET TRANSACTION READ ONLY"))
        at = now or (await conn.execute(text("SELECT now()"))).scalar_one()
        results = [
            await check_orders(conn, scope, limits, at),
            await check_money(conn, scope),
            await check_stock(conn, scope, limits, at),
            await check_payments(conn, scope),
            await check_applied_once(conn, scope),
            await check_outboxes(conn, scope, limits, at),
            await check_carts(conn, redis, namespace, scope, limits, at),
        ]
        await conn.rollback()
    return Report(results)


async def verify_when_quiet(
    db: Database,
    redis: Redis,
    namespace: str,
    *,
    scope: Scope | None = None,
    limits: Limits | None = None,
    within: float = 20.0,
) -> Report:
    """For tests and fault runs: the first clean report, or the last one after `within` seconds.

    Some invariants hold only once the system is quiet (an outbox row is marked published up to a
    second after its publish, a cart empties when `order_confirmed` reaches it), so the checks are run
    again until they pass or the time is up; the report returned says which."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        report = await verify(db, redis, namespace, scope=scope, limits=limits)
        if report.ok or loop.time() >= deadline:
            return report
        await asyncio.sleep(0.2)
