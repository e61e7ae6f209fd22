"""Every row lock payments take, in one place, so that the order is easy to check.

Lock order, for every transaction:
  1. the payment intent row (FOR UPDATE), when the transaction touches an existing intent;
  2. then payment_operations rows (the row an INSERT claims, or a claim's UPDATE).
The first transaction of a command locks the intent and then records its operation; the second
(the outcome) locks the intent again before finishing the operation. Both go intent → operation,
so a transaction waiting on an operation never holds it against one waiting on the intent.
Claims of stale operations by the sweeper lock operation rows only, with SKIP LOCKED, and commit
before anything else is done.

A saga command's outcome is written in the event consumer's transaction, which keeps the intents
of every message of its batch locked until it commits. The command's first transaction runs on
another connection while that one is open, so it must never wait for a lock the consumer's
transaction holds (nobody would ever release it): `service_layer.operations` decides on the
consumer's transaction itself when the intent or the key is one it holds, and otherwise, once it
holds any, locks the intent with NOWAIT and never claims or waits for a lease (`rules.LockBusy`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.payments.domain.rules import LockBusy
from mercato.platform.sql import Sql

INTENT_COLUMNS = (
    "i.id, i.order_reference, i.amount, i.currency, i.status, i.provider, i.provider_reference, "
    "i.captured_amount, i.refunded_amount, i.failure_code, i.created_at, i.updated_at, i.version"
)

# The statements here and the repository's hot ones go straight to asyncpg (`platform.sql`).
# `leased` is evaluated by the database clock, the one clock all processes share.
OPERATION_COLUMNS = (
    "o.id, o.operation, o.idempotency_key, o.intent_id, o.order_reference, o.amount, o.currency, "
    "o.payment_token, o.reason, o.status, o.outcome_code, o.decline_code, o.provider_reference, o.result, "
    "o.attempts, o.lease_token, (o.lease_until > now()) AS leased, o.capture_key"
)

# The intent, locked, with what a new operation on it must know of, as JSON: the operation holding
# its key (on any intent: keys are unique per kind) and the one in flight on the intent. The
# operations are read with the statement's snapshot: after a wait for the lock they may be older
# than the intent, which the caller handles (its INSERT then conflicts and it reads them again).
_LOCK_INTENT_WITH_OPERATIONS = (
    f"SELECT {INTENT_COLUMNS}, (SELECT coalesce(json_agg(row_to_json(x)), '[]'::json) FROM "
    f"(SELECT {OPERATION_COLUMNS} FROM payments.payment_operations o "
    "WHERE (o.operation = :operation AND o.idempotency_key = :key) "
    "OR (o.intent_id = :id AND o.status = 'PENDING')) x) AS operations "
    "FROM payments.payment_intents i WHERE i.id = :id FOR UPDATE OF i"
)
LOCK_INTENT_WITH_OPERATIONS = Sql(_LOCK_INTENT_WITH_OPERATIONS)
LOCK_INTENT_WITH_OPERATIONS_NOWAIT = Sql(_LOCK_INTENT_WITH_OPERATIONS + " NOWAIT")
LOCK_NOT_AVAILABLE = "55P03"  # the SQLSTATE of a NOWAIT lock someone else holds

# The intent, and the status of one of its operations read under the intent's lock: every
# transaction that finishes an operation holds that lock, so the status cannot change under us.
_LOCK_INTENT_WITH_OPERATION = (
    f"SELECT {INTENT_COLUMNS}, (SELECT o.status FROM payments.payment_operations o "
    "WHERE o.id = :operation_id) AS operation_status "
    "FROM payments.payment_intents i WHERE i.id = :id FOR UPDATE OF i"
)
LOCK_INTENT_WITH_OPERATION = Sql(_LOCK_INTENT_WITH_OPERATION)

# Take over an operation whose lease ran out. Concurrent claimers queue on the row and re-check
# the WHERE after the first commits, so exactly one of them wins.
CLAIM = Sql(
    "UPDATE payments.payment_operations o SET lease_until = now() + CAST(:lease AS interval), "
    "lease_token = :token, attempts = o.attempts + 1, updated_at = now() "
    "WHERE o.id = :id AND o.status = 'PENDING' AND o.lease_until <= now() "
    f"RETURNING {OPERATION_COLUMNS}"
)

CLAIM_STALE = Sql(
    "UPDATE payments.payment_operations o SET lease_until = now() + CAST(:lease AS interval), "
    "lease_token = gen_random_uuid(), attempts = o.attempts + 1, updated_at = now() "
    "WHERE o.id IN (SELECT s.id FROM payments.payment_operations s "
    "WHERE s.status = 'PENDING' AND s.lease_until <= now() AND s.attempts < :max_attempts "
    "ORDER BY s.lease_until LIMIT :limit FOR UPDATE SKIP LOCKED) "
    f"RETURNING {OPERATION_COLUMNS}"
)


async def lock_intent_with_operations(
    conn: AsyncConnection, intent_id: uuid.UUID, kind: str, key: str, *, nowait: bool
) -> Any:
    """The intent's row with its `operations` (JSON), or None; with `nowait`, `LockBusy` rather
    than a wait when someone else holds the intent."""
    statement = LOCK_INTENT_WITH_OPERATIONS_NOWAIT if nowait else LOCK_INTENT_WITH_OPERATIONS
    return await _first(conn, statement, {"id": intent_id, "operation": kind, "key": key})


async def lock_intent_with_operation(
    conn: AsyncConnection, intent_id: uuid.UUID, operation_id: uuid.UUID
) -> Any:
    """The intent's row with `operation_status`, waiting for the intent's lock (an outcome's
    transaction; a wait cycle between batches is a deadlock PostgreSQL breaks, and the failed
    batch is retried message by message)."""
    return await _first(conn, LOCK_INTENT_WITH_OPERATION, {"id": intent_id, "operation_id": operation_id})


async def _first(conn: AsyncConnection, statement: Sql, params: dict[str, Any]) -> Any:
    try:
        return await statement.first(conn, params)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise LockBusy() from None
        raise
