"""The invariant checker behind `mercato verify`: what must hold across the contexts once work has
settled, read straight from each context's own tables (and the carts in Redis).

It lives in the composition root because it is the one reader allowed to see every context's schema
(import-linter keeps the contexts apart). It only reads: every query runs in one REPEATABLE READ, READ
ONLY transaction, so the checks see one snapshot of the database and cannot change it.

A `Scope` narrows the checks to some orders, SKUs and to rows written since a moment, so a test on the
shared test database checks what it made and nothing another test left behind; the command checks
everything. Each check returns how many things it looked at, a one-line note and its violations.

The checks live by what they look at: `commerce` (orders, money, stock, payments) and `messaging`
(inboxes, outboxes, dead letters, carts); `model` holds the scope, the limits and the results.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy import text

from mercato.app.invariants.commerce import check_money, check_orders, check_payments, check_stock
from mercato.app.invariants.messaging import check_applied_once, check_carts, check_outboxes
from mercato.app.invariants.model import (
    CONFIRMED_ONCE,
    MESSAGING_SCHEMAS,
    SETTLED,
    CheckResult,
    Limits,
    Report,
    Scope,
    Violation,
)
from mercato.platform.db import Database

__all__ = [
    "CONFIRMED_ONCE",
    "MESSAGING_SCHEMAS",
    "SETTLED",
    "CheckResult",
    "Limits",
    "Report",
    "Scope",
    "Violation",
    "check_applied_once",
    "check_carts",
    "check_money",
    "check_orders",
    "check_outboxes",
    "check_payments",
    "check_stock",
    "verify",
    "verify_when_quiet",
]


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
