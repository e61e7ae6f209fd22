"""The checks of what the messaging must hold: no message applied twice, outboxes drained and nothing
parked, the carts of confirmed orders emptied (the one effect of an event outside PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.app.invariants.model import (
    CONFIRMED_ONCE,
    IN_ORDERS,
    MESSAGING_SCHEMAS,
    SINCE,
    CheckResult,
    Limits,
    Scope,
    scope_params,
)


async def check_applied_once(conn: AsyncConnection, scope: Scope) -> CheckResult:
    """No message applied twice: one inbox row per message and consumer, and no order recording the
    same status twice in a row (the saga moves an order only when its status changes, so a repeat is a
    saga reply applied a second time)."""
    result = CheckResult("no message applied twice")
    for schema in MESSAGING_SCHEMAS:
        rows = await conn.execute(
            text(
                f"SELECT consumer, event_id, count(*) AS n FROM {schema}.inbox "
                f"WHERE {SINCE.format(col='received_at')} GROUP BY 1, 2 HAVING count(*) > 1"
            ),
            scope_params(scope),
        )
        for row in rows:
            result.fail(f"{schema}.{row.consumer}", f"event {row.event_id} claimed {row.n} times")
    rows = await conn.execute(
        text(
            "SELECT order_id, status FROM (SELECT h.order_id, h.status, "
            " lag(h.status) OVER (PARTITION BY h.order_id ORDER BY h.seq, h.at) AS previous "
            f" FROM orders.status_history h JOIN orders.orders o ON o.id = h.order_id WHERE {IN_ORDERS}) t "
            "WHERE status = previous"
        ),
        scope_params(scope),
    )
    for row in rows:
        result.fail(row.order_id, f"moved to {row.status} twice in a row")
    checked = await conn.execute(
        text(
            "SELECT count(*) FROM orders.status_history h JOIN orders.orders o ON o.id = h.order_id "
            f"WHERE {IN_ORDERS}"
        ),
        scope_params(scope),
    )
    result.checked = int(checked.scalar_one())
    result.note = f"{result.checked} order transitions, inboxes of {len(MESSAGING_SCHEMAS)} contexts"
    return result


async def check_outboxes(conn: AsyncConnection, scope: Scope, limits: Limits, now: datetime) -> CheckResult:
    """Outboxes drained once things are quiet; no message parked in a dead-letter table."""
    result = CheckResult("outboxes drained")
    params = {**scope_params(scope), "before": now - limits.quiescence}
    checked = 0
    for schema in MESSAGING_SCHEMAS:
        row = (
            await conn.execute(
                text(
                    "SELECT count(*) AS total, count(*) FILTER (WHERE published_at IS NULL "
                    "AND created_at < CAST(:before AS timestamptz)) AS stuck, min(created_at) FILTER "
                    f"(WHERE published_at IS NULL) AS oldest FROM {schema}.outbox "
                    f"WHERE {SINCE.format(col='created_at')}"
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
                f"WHERE {SINCE.format(col='failed_at')} GROUP BY consumer"
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
                f"AND {IN_ORDERS}"
            ),
            {**scope_params(scope), "confirmed": list(CONFIRMED_ONCE), "after": now - limits.cart_ttl},
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
