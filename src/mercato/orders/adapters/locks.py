"""Every row lock the orders take, in one place, so that the order is easy to check.

Lock order, for every transaction:
  1. saga rows only: one by order id (FOR UPDATE) in a request's transaction, those of a consumer's
     run of replies in ONE statement ordered by order id (each lock reads the order's owner with it,
     locking the saga row only), or a batch of due ones (FOR UPDATE SKIP LOCKED, so sweepers and
     consumers never wait on each other);
  2. the order row is written only under its saga's lock, never locked on its own.
Sagas are always waited for in order id order within a statement, so two consumers' runs cannot
deadlock on them. A consumer's batch may hold several runs (one per reply type in a row), each taking
its locks in that order; two such batches can deadlock, PostgreSQL aborts one and the consumer
retries it one message at a time (one lock each then).
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

LOCK_SAGAS = Sql(
    _SAGA_AND_OWNER + "WHERE s.order_id = ANY(CAST(:ids AS uuid[])) ORDER BY s.order_id FOR UPDATE OF s"
)

CLAIM_DUE = Sql(
    _SAGA_AND_OWNER + "WHERE s.deadline IS NOT NULL AND s.deadline <= :now "
    "ORDER BY s.deadline, s.order_id LIMIT :limit FOR UPDATE OF s SKIP LOCKED"
)

# The same lock, for a request on the order (cancel, fulfil, refund).
LOCK_ORDER = LOCK_SAGA
