"""SQL statements and commits one confirmed order costs, over the three services.

The background tasks (relays and consumers) are created inside a counter, so they count into it
(`count_statements` is per task context); the test's own PlaceOrder calls count into another.
Relays poll rarely here (they are woken on commit), so their count is their publishing work.
"""

from __future__ import annotations

import re
from collections import Counter

from mercato.platform.config import Settings
from mercato.platform.db import Database, StatementCounter
from mercato.platform.messaging import Broker
from tests.service.orders.harness import Checkout

ORDERS = 10


def kind(statement: str) -> str:
    if re.search(r"\.outbox\b.*published_at IS NULL|\.outbox SET (published_at|attempts)", statement, re.S):
        return "relay"
    if re.match(r"\s*INSERT INTO \w+\.outbox", statement):
        return "outbox"  # an outbox INSERT of its own (a store's statement may carry its rows too)
    if re.search(r"INSERT INTO \w+\.inbox", statement):
        return "inbox"
    for schema in ("orders", "inventory", "payments"):
        if f"{schema}." in statement:
            return schema
    return "other"


def per_order(counter: StatementCounter) -> dict[str, float]:
    kinds = Counter(kind(s) for s in counter.statements)
    return {k: round(n / ORDERS, 1) for k, n in sorted(kinds.items())}


async def test_statements_and_commits_per_confirmed_order(
    orders_db: Database, broker: Broker, settings: Settings
) -> None:
    system = Checkout(orders_db, broker, settings, relay_poll=30.0)
    await system.start()  # drain whatever earlier tests left in flight, uncounted
    sku = await system.stocked_sku(ORDERS)
    await system.idle()
    await system.stop()

    counters: dict[str, StatementCounter] = {}
    for context in ("orders", "inventory", "payments"):
        # Each context's relay and consumer(s) count into a counter of their own.
        with orders_db.count_statements() as counters[context]:
            await system.start(only={context})
    try:
        with orders_db.count_statements() as foreground:
            placed = [await system.orders.handle(system.place(sku, 1)) for _ in range(ORDERS)]
        views = await system.settle_all([o.id for o in placed])
        await system.idle()
    finally:
        await system.stop()

    assert {v.status.value for v in views} == {"CONFIRMED"}
    assert (foreground.count, foreground.commits) == (
        ORDERS,
        ORDERS,
    )  # PlaceOrder: 1 statement (order, saga, history and outbox), 1 commit
    background = StatementCounter(
        statements=[st for c in counters.values() for st in c.statements],
        commits=sum(c.commits for c in counters.values()),
    )
    by_kind = per_order(background)
    by_service = {
        name: (round(c.count / ORDERS, 1), round(c.commits / ORDERS, 1)) for name, c in counters.items()
    }
    print(  # the numbers the report quotes (`pytest -s`)
        f"\nper confirmed order: PlaceOrder {foreground.count / ORDERS} statements, "
        f"{foreground.commits / ORDERS} commits; saga and participants {background.count / ORDERS} "
        f"statements, {background.commits / ORDERS} commits; (statements, commits) by service "
        f"{by_service}; statements by kind {by_kind}"
    )
    # The business work is deterministic: pin it. Inbox: one row per handled message, i.e. three
    # commands (reserve, authorize-and-capture, commit) and three replies handled by the saga, claimed
    # by one statement per batch: at most one per message, fewer when messages arrive together.
    assert 0 < by_kind["inbox"] <= 6
    # Lock + save (with the steps' outbox rows) per run of replies of one type in a batch: 6 when each
    # of the three replies comes alone, fewer when replies of several orders arrive together.
    assert 0 < by_kind["orders"] <= 6
    # The authorization PENDING, planning its capture (1); after both provider calls, both outcomes
    # in the consumer's transaction, in one statement that locks the intent itself (1).
    assert by_kind["payments"] == 2
