"""Loads and saves payments on one connection, one statement per call.

Implements `service_layer.unit_of_work.PaymentsStore` (on a unit of work's transaction) and
`service_layer.queries.PaymentsReader` (on a plain connection). Row locks go through `locks`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.payments.adapters import locks
from mercato.payments.adapters.outcome_sql import outcome_statement
from mercato.payments.adapters.rows import operation_from_json, to_intent, to_operation
from mercato.payments.domain.model import (
    LedgerEntry,
    LedgerKind,
    OperationKind,
    PaymentIntent,
    Reconciliation,
)
from mercato.payments.domain.operations import OperationStatus, Outcome, PaymentOperation
from mercato.platform.outbox_embed import EmbeddedEvents
from mercato.platform.sql import Sql
from mercato.platform.types import Money

_OPERATIONS_FOR = Sql(
    f"SELECT {locks.OPERATION_COLUMNS} FROM payments.payment_operations o "
    "WHERE (o.operation = :operation AND o.idempotency_key = :key) "
    "OR (o.intent_id = :intent_id AND o.status = 'PENDING')"
)
_OPERATION_BY_KEY = Sql(
    f"SELECT {locks.OPERATION_COLUMNS} FROM payments.payment_operations o "
    "WHERE o.operation = :operation AND o.idempotency_key = :key"
)
_OPERATION = Sql(f"SELECT {locks.OPERATION_COLUMNS} FROM payments.payment_operations o WHERE o.id = :id")
_OPERATIONS_OF_INTENT = Sql(
    f"SELECT {locks.OPERATION_COLUMNS} FROM payments.payment_operations o "
    "WHERE o.intent_id = :intent_id ORDER BY o.created_at, o.id"
)
_PENDING = Sql(
    f"SELECT {locks.OPERATION_COLUMNS} FROM payments.payment_operations o "
    "WHERE o.status = 'PENDING' ORDER BY o.created_at LIMIT :limit"
)
_RELEASE = text(
    "UPDATE payments.payment_operations SET lease_until = now(), last_error = :error, updated_at = now() "
    "WHERE id = :id AND status = 'PENDING' AND lease_token = :token"
)
_INTENTS = Sql(f"SELECT {locks.INTENT_COLUMNS} FROM payments.payment_intents i WHERE i.id = ANY(:ids)")
_INTENTS_OF_ORDER = Sql(
    f"SELECT {locks.INTENT_COLUMNS} FROM payments.payment_intents i "
    "WHERE i.order_reference = :order_reference ORDER BY i.created_at, i.id"
)
_RELEASE_ALL = text(
    "UPDATE payments.payment_operations o SET lease_until = now(), last_error = :error, updated_at = now() "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:tokens AS uuid[])) AS r(id, token) "
    "WHERE o.id = r.id AND o.status = 'PENDING' AND o.lease_token = r.token"
)


def _operation_insert(capture_key: str) -> str:
    return (
        "INSERT INTO payments.payment_operations (id, operation, idempotency_key, intent_id, "
        "order_reference, amount, currency, payment_token, reason, status, attempts, lease_until, "
        "lease_token, capture_key) VALUES (:id, :operation, :key, :intent_id, :order_reference, :amount, "
        ":currency, :payment_token, :reason, :status, :attempts, now() + CAST(:lease AS interval), "
        f":lease_token, {capture_key}) "
        # No conflict target: the key's constraint and the one-in-flight-per-intent index alike.
        "ON CONFLICT DO NOTHING RETURNING id, capture_key"
    )


_INSERT_OPERATION = Sql(_operation_insert("NULL"))
# The intent only if the operation claimed the key: a lost race writes nothing. The capture is
# planned only if its key is free: a key another operation holds goes the two-step way (a capture
# command of its own), which answers the conflict before any provider is asked.
_INSERT_AUTHORIZATION = Sql(
    "WITH op AS ("
    + _operation_insert(
        "(SELECT CAST(:capture_key AS text) WHERE NOT EXISTS (SELECT FROM payments.payment_operations k "
        "WHERE k.operation = 'CAPTURE' AND k.idempotency_key = :capture_key))"
    )
    + ") INSERT INTO payments.payment_intents (id, order_reference, amount, currency, status, provider, "
    "captured_amount, refunded_amount, created_at, updated_at, version) "
    "SELECT CAST(:intent_id AS uuid), CAST(:order_reference AS text), CAST(:intent_amount AS bigint), "
    "CAST(:intent_currency AS text), CAST(:intent_status AS text), CAST(:provider AS text), 0, 0, "
    "CAST(:created_at AS timestamptz), CAST(:updated_at AS timestamptz), CAST(:version AS bigint) FROM op "
    "RETURNING (SELECT op.capture_key FROM op) AS capture_key"
)
_LEDGER = text(
    "SELECT id, intent_id, operation_id, order_reference, kind, amount, currency, created_at "
    "FROM payments.ledger_entries WHERE intent_id = :intent_id ORDER BY created_at, id"
)
_RECONCILE = text(
    "SELECT currency, "
    "coalesce(sum(amount) FILTER (WHERE kind = 'AUTHORIZATION'), 0) AS authorized, "
    "coalesce(sum(amount) FILTER (WHERE kind = 'CAPTURE'), 0) AS captured, "
    "coalesce(sum(amount) FILTER (WHERE kind = 'REFUND'), 0) AS refunded, "
    "coalesce(sum(amount) FILTER (WHERE kind = 'VOID'), 0) AS voided "
    "FROM payments.ledger_entries WHERE order_reference = :order_reference "
    "GROUP BY currency ORDER BY currency"
)
_TOTALS = text(
    "SELECT currency, sum(CASE kind WHEN 'CAPTURE' THEN amount WHEN 'REFUND' THEN -amount ELSE 0 END) AS net "
    "FROM payments.ledger_entries GROUP BY currency ORDER BY currency"
)


def _operation_params(operation: PaymentOperation, lease_seconds: float) -> dict[str, Any]:
    return {
        "id": operation.id,
        "operation": operation.kind.value,
        "key": operation.idempotency_key,
        "intent_id": operation.intent_id,
        "order_reference": operation.order_reference,
        "amount": operation.amount.amount,
        "currency": operation.amount.currency,
        "payment_token": operation.payment_token,
        "reason": operation.reason,
        "status": operation.status.value,
        "attempts": operation.attempts,
        "lease": timedelta(seconds=lease_seconds),
        "lease_token": operation.lease_token,
    }


class PaymentsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # -- writes, on a unit of work's transaction ---------------------------------------------

    async def insert_authorization(
        self, operation: PaymentOperation, intent: PaymentIntent, lease_seconds: float
    ) -> PaymentOperation | None:
        """Record a PENDING authorization and its new intent, in one statement, unless its key is
        taken; None if it was. The operation as recorded: its planned capture is dropped if the
        capture's key is taken. A concurrent insert of the same key waits here until the first
        transaction ends. The operation's foreign key to the intent is checked at commit."""
        params = {
            **_operation_params(operation, lease_seconds),
            "capture_key": operation.capture_key,
            "order_reference": intent.order_reference,
            "intent_amount": intent.amount.amount,
            "intent_currency": intent.currency,
            "intent_status": intent.status.value,
            "provider": intent.provider,
            "created_at": intent.created_at,
            "updated_at": intent.updated_at,
            "version": intent.version,
        }
        # `solo`: transaction 1 whole (or nothing, if the key is taken), so on a transaction that has
        # sent nothing yet it goes without BEGIN and the commit that follows sends nothing.
        row = await _INSERT_AUTHORIZATION.first(self.conn, params, solo=True)
        if row is None:
            return None
        planned = row["capture_key"]
        return operation if planned == operation.capture_key else replace(operation, capture_key=planned)

    async def insert_operation(self, operation: PaymentOperation, lease_seconds: float) -> bool:
        """Record a PENDING operation unless its key is taken or another one is in flight on the
        intent; False then. A concurrent insert of the same key waits here until it ends."""
        params = _operation_params(operation, lease_seconds)
        return await _INSERT_OPERATION.first(self.conn, params) is not None

    async def lock_intent_with_operations(
        self, intent_id: uuid.UUID, kind: OperationKind, key: str, *, nowait: bool = False
    ) -> tuple[PaymentIntent, list[PaymentOperation]] | None:
        """The intent, locked, with the operation holding (`kind`, `key`) and the one in flight on
        it, if any (read with the lock's snapshot; see `locks`)."""
        row = await locks.lock_intent_with_operations(self.conn, intent_id, kind.value, key, nowait=nowait)
        if row is None:
            return None
        return to_intent(row), [operation_from_json(o) for o in row["operations"]]

    async def lock_intent_with_operation(
        self, intent_id: uuid.UUID, operation_id: uuid.UUID
    ) -> tuple[PaymentIntent, OperationStatus | None]:
        row = await locks.lock_intent_with_operation(self.conn, intent_id, operation_id)
        if row is None:  # pragma: no cover - intents are never deleted
            raise RuntimeError(f"payment intent {intent_id} vanished")
        status = OperationStatus(row["operation_status"]) if row["operation_status"] is not None else None
        return to_intent(row), status

    async def operations_for(
        self, kind: OperationKind, key: str, intent_id: uuid.UUID
    ) -> list[PaymentOperation]:
        """The operation holding (`kind`, `key`), and the one in flight on the intent, if any."""
        params = {"operation": kind.value, "key": key, "intent_id": intent_id}
        return [to_operation(r) for r in await _OPERATIONS_FOR.fetch(self.conn, params)]

    async def operation_by_key(self, kind: OperationKind, key: str) -> PaymentOperation | None:
        row = await _OPERATION_BY_KEY.first(self.conn, {"operation": kind.value, "key": key})
        return to_operation(row) if row is not None else None

    async def claim(self, operation_id: uuid.UUID, lease_seconds: float) -> PaymentOperation | None:
        params = {"id": operation_id, "lease": timedelta(seconds=lease_seconds), "token": uuid.uuid4()}
        row = await locks.CLAIM.first(self.conn, params)
        return to_operation(row) if row is not None else None

    async def claim_stale(
        self, limit: int, lease_seconds: float, max_attempts: int
    ) -> list[PaymentOperation]:
        params = {"limit": limit, "lease": timedelta(seconds=lease_seconds), "max_attempts": max_attempts}
        return [to_operation(r) for r in await locks.CLAIM_STALE.fetch(self.conn, params)]

    async def record_outcome(self, outcome: Outcome, events: EmbeddedEvents | None = None) -> None:
        """Finish a PENDING operation, save its intent, write its ledger entry and the outbox rows of
        `events`: one statement. The caller holds the intent's lock and saw the operation PENDING
        under it."""
        statement, params = outcome_statement(outcome, events)
        row = await statement.first(self.conn, params)
        assert row is not None  # a SELECT without FROM returns its one row
        if row["finished"] != 1:  # pragma: no cover - every finisher holds the intent's lock
            raise RuntimeError(f"payment operation {outcome.operation.id} finished twice")
        if outcome.intent is not None and row["saved"] != 1:
            intent = outcome.intent.id
            raise RuntimeError(f"payment intent {intent} changed while its operation was in flight")
        if outcome.capture is not None and row["captured"] != 1:  # pragma: no cover - its key is free
            raise RuntimeError(
                f"the capture planned by payment operation {outcome.operation.id} was not written"
            )

    async def record_outcome_if_current(self, outcome: Outcome, events: EmbeddedEvents | None = None) -> bool:
        """`record_outcome` with the intent's lock taken in the same statement, first: written only
        if the intent is still at `outcome.expected_version` and the operation PENDING; False, with
        nothing written nor locked, otherwise (the caller then locks and reads what is there)."""
        statement, params = outcome_statement(outcome, events, current=True)
        row = await statement.first(self.conn, params)
        assert row is not None  # a SELECT without FROM returns its one row
        if row["finished"] != 1:
            return False
        if outcome.intent is not None and row["saved"] != 1:  # pragma: no cover - locked at that version
            raise RuntimeError(f"payment intent {outcome.intent.id} changed under its lock")
        if outcome.capture is not None and row["captured"] != 1:  # pragma: no cover - its key is free
            raise RuntimeError(
                f"the capture planned by payment operation {outcome.operation.id} was not written"
            )
        return True

    async def release(self, operation_id: uuid.UUID, lease_token: uuid.UUID | None, error: str) -> None:
        params = {"id": operation_id, "token": lease_token, "error": error[:1000]}
        await self.conn.execute(_RELEASE, params)

    async def release_all(self, leases: Sequence[tuple[uuid.UUID, uuid.UUID | None]], error: str) -> None:
        """`release` of several operations at once (what a rolled back batch held)."""
        params = {"ids": [i for i, _ in leases], "tokens": [t for _, t in leases], "error": error[:1000]}
        await self.conn.execute(_RELEASE_ALL, params)

    # -- reads ----------------------------------------------------------------------------------

    async def operation(self, operation_id: uuid.UUID) -> PaymentOperation | None:
        row = await _OPERATION.first(self.conn, {"id": operation_id})
        return to_operation(row) if row is not None else None

    async def intents(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PaymentIntent]:
        rows = await _INTENTS.fetch(self.conn, {"ids": list(ids)})
        return {row["id"]: to_intent(row) for row in rows}

    async def intents_for_order(self, order_reference: str) -> list[PaymentIntent]:
        rows = await _INTENTS_OF_ORDER.fetch(self.conn, {"order_reference": order_reference})
        return [to_intent(r) for r in rows]

    async def operations(self, intent_id: uuid.UUID) -> list[PaymentOperation]:
        rows = await _OPERATIONS_OF_INTENT.fetch(self.conn, {"intent_id": intent_id})
        return [to_operation(r) for r in rows]

    async def pending_operations(self, limit: int) -> list[PaymentOperation]:
        return [to_operation(r) for r in await _PENDING.fetch(self.conn, {"limit": limit})]

    async def ledger(self, intent_id: uuid.UUID) -> list[LedgerEntry]:
        rows = (await self.conn.execute(_LEDGER, {"intent_id": intent_id})).all()
        return [
            LedgerEntry(
                id=r.id,
                intent_id=r.intent_id,
                operation_id=r.operation_id,
                order_reference=r.order_reference,
                kind=LedgerKind(r.kind),
                amount=Money(int(r.amount), r.currency),
                created_at=r.created_at,
            )
            for r in rows
        ]

    async def reconcile(self, order_reference: str) -> list[Reconciliation]:
        rows = (await self.conn.execute(_RECONCILE, {"order_reference": order_reference})).all()
        return [
            Reconciliation(
                order_reference=order_reference,
                currency=r.currency,
                authorized=int(r.authorized),
                captured=int(r.captured),
                refunded=int(r.refunded),
                voided=int(r.voided),
            )
            for r in rows
        ]

    async def totals(self) -> dict[str, int]:
        return {r.currency: int(r.net) for r in (await self.conn.execute(_TOTALS)).all()}
