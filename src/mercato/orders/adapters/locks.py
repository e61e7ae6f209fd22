"""Every row lock the orders take, in one place, so that the order is easy to check.

Lock order, for every transaction:
  1. saga rows only: one by order id (FOR UPDATE) in a consumer's or a request's transaction
     (each lock reads the order's owner with it, locking the saga row only), or a batch of due
     ones (FOR UPDATE SKIP LOCKED, so sweepers and consumers never wait on each other);
  2. the order row is written only under its saga's lock, never locked on its own.
A transaction therefore holds at most one waiting lock (the saga's): no deadlock is possible.
New orders take no lock; the UNIQUE (customer_id, idempotency_key) index serialises two inserts
of the same key (the second waits for the first to commit, then does nothing).
"""

from __future__ import annotations

from mercato.platform.sql import Sql

# Sent straight to asyncpg (`platform.sql`): the lock runs once per saga step.
# Each lock reads the order's owner (customer and cart) with the saga, so a step knows every event it
# will write before it writes anything, and writes them with the saga in one statement.
_SAGA_AND_OWNER = (
    "SELECT s.state, s.step_started_at, o.customer_id, o.cart_id "
    "FROM orders.sagas s JOIN orders.orders o ON o.id = s.order_id "
)

LOCK_SAGA = Sql(_SAGA_AND_OWNER + "WHERE s.order_id = :id FOR UPDATE OF s")

CLAIM_DUE = Sql(
    _SAGA_AND_OWNER + "WHERE s.deadline IS NOT NULL AND s.deadline <= :now "
    "ORDER BY s.deadline, s.order_id LIMIT :limit FOR UPDATE OF s SKIP LOCKED"
)

# The same lock, for a request on the order (cancel, fulfil, refund).
LOCK_ORDER = LOCK_SAGA
