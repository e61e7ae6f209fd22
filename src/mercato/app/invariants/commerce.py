"""The checks of what an order moves: orders settled or in flight, money reconciled, stock consistent,
no double capture."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.app.invariants.model import (
    IN_ORDERS,
    IN_REFS,
    IN_SKUS,
    SETTLED,
    CheckResult,
    Limits,
    Scope,
    scope_params,
)

# What a settled order still owes, in minor units: paid orders keep what was not refunded.
_OWED = (
    "CASE o.status WHEN 'CONFIRMED' THEN o.total_amount - o.refunded_amount "
    "WHEN 'FULFILLED' THEN o.total_amount - o.refunded_amount "
    "WHEN 'PARTIALLY_REFUNDED' THEN o.total_amount - o.refunded_amount ELSE 0 END"
)


async def check_orders(conn: AsyncConnection, scope: Scope, limits: Limits, now: datetime) -> CheckResult:
    """Every order settled, or in flight with its saga waiting on a deadline not long past."""
    result = CheckResult("orders terminal or in flight")
    rows = (
        await conn.execute(
            text(
                "SELECT o.id, o.status, o.created_at, s.order_id IS NOT NULL AS has_saga, s.deadline "
                f"FROM orders.orders o LEFT JOIN orders.sagas s ON s.order_id = o.id WHERE {IN_ORDERS}"
            ),
            scope_params(scope),
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
    params = {**scope_params(scope), "settled": list(SETTLED)}
    rows = (
        await conn.execute(
            text(
                f"SELECT o.id, o.status, o.currency, {_OWED} AS owed, "
                "coalesce(sum(CASE l.kind WHEN 'CAPTURE' THEN l.amount ELSE 0 END), 0)::bigint AS captured, "
                "coalesce(sum(CASE l.kind WHEN 'REFUND' THEN l.amount ELSE 0 END), 0)::bigint AS refunded "
                "FROM orders.orders o LEFT JOIN payments.ledger_entries l ON l.order_reference = o.id::text "
                f"WHERE o.status = ANY(:settled) AND {IN_ORDERS} "
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
            f"WHERE i.status = 'AUTHORIZED' AND o.status = ANY(:settled) AND {IN_ORDERS}"
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
                f"FROM inventory.adjustments WHERE {IN_SKUS.format(col='sku')} GROUP BY 1, 2), "
                "alloc AS (SELECT a.sku, a.warehouse_id, "
                " sum(a.quantity) FILTER (WHERE r.status = 'COMMITTED')::bigint AS committed, "
                " sum(a.quantity) FILTER (WHERE r.status = 'ACTIVE')::bigint AS open "
                " FROM inventory.reservation_allocations a JOIN inventory.reservations r "
                f" ON r.id = a.reservation_id WHERE {IN_SKUS.format(col='a.sku')} GROUP BY 1, 2) "
                "SELECT s.sku, s.warehouse_id, s.on_hand, s.reserved, "
                " s.initial + coalesce(adj.delta, 0) AS adjusted, "
                " coalesce(alloc.committed, 0) AS committed, coalesce(alloc.open, 0) AS open "
                "FROM inventory.stock s LEFT JOIN adj USING (sku, warehouse_id) "
                f"LEFT JOIN alloc USING (sku, warehouse_id) WHERE {IN_SKUS.format(col='s.sku')}"
            ),
            scope_params(scope),
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
        {**scope_params(scope), "before": now - limits.in_flight_grace},
    )
    for row in overdue:
        result.fail(row.reference, f"reservation still ACTIVE, expired at {row.expires_at:%H:%M:%S}")
    result.note = f"{len(rows)} stock rows"
    return result


async def check_payments(conn: AsyncConnection, scope: Scope) -> CheckResult:
    """No payment captured twice: one capture per order, an intent's totals equal its ledger, never
    more captured than authorized nor more refunded than captured."""
    result = CheckResult("no double capture")
    refs = IN_REFS.format(col="i.order_reference")
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
            scope_params(scope),
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
