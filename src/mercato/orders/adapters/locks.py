"""Every row lock the orders take, in one place, so that the order is easy to check.

Lock order, for every transaction:
  1. saga rows only: one by order id (FOR UPDATE) in a consumer's or a request's transaction
     (`LOCK_ORDER` reads the order's owner with it, locking the saga row only), or a batch of due
     ones (FOR UPDATE SKIP LOCKED, so sweepers and consumers never wait on each other);
  2. the order row is written only under its saga's lock, never locked on its own.
A transaction therefore holds at most one waiting lock (the saga's): no deadlock is possible.
New orders take no lock; the UNIQUE (customer_id, idempotency_key) index serialises two inserts
of the same key (the second waits for the first to commit, then does nothing).
"""

from __future__ import annotations

from sqlalchemy import text

LOCK_SAGA = text("SELECT state FROM orders.sagas WHERE order_id = :id FOR UPDATE")

CLAIM_DUE = text(
    "SELECT state FROM orders.sagas WHERE deadline IS NOT NULL AND deadline <= :now "
    "ORDER BY deadline, order_id LIMIT :limit FOR UPDATE SKIP LOCKED"
)

LOCK_ORDER = text(
    "SELECT s.state, o.customer_id FROM orders.sagas s JOIN orders.orders o ON o.id = s.order_id "
    "WHERE s.order_id = :id FOR UPDATE OF s"
)
