"""Loads and saves payments on one connection, one statement per call.

Implements `service_layer.unit_of_work.PaymentsStore` (on a unit of work's transaction) and
`service_layer.queries.PaymentsReader` (on a plain connection). Row locks go through `locks`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Interval, func, insert, literal, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.payments.adapters import locks
from mercato.payments.adapters.tables import ledger_entries, payment_intents, payment_operations
from mercato.payments.domain.model import (
    IntentStatus,
    LedgerEntry,
    LedgerKind,
    OperationKind,
    PaymentIntent,
    Reconciliation,
)
from mercato.payments.domain.operations import OperationStatus, PaymentOperation
from mercato.platform.types import Money

_OPERATIONS_FOR = text(
    f"SELECT {locks.OPERATION_COLUMNS} FROM payments.payment_operations o "
    "WHERE (o.operation = :operation AND o.idempotency_key = :key) "
    "OR (o.intent_id = :intent_id AND o.status = 'PENDING')"
)
_OPERATION_BY_KEY = text(
    f"SELECT {locks.OPERATION_COLUMNS} FROM payments.payment_operations o "
    "WHERE o.operation = :operation AND o.idempotency_key = :key"
)
_OPERATION = text(f"SELECT {locks.OPERATION_COLUMNS} FROM payments.payment_operations o WHERE o.id = :id")
_OPERATIONS_OF_INTENT = text(
    f"SELECT {locks.OPERATION_COLUMNS} FROM payments.payment_operations o "
    "WHERE o.intent_id = :intent_id ORDER BY o.created_at, o.id"
)
_PENDING = text(
    f"SELECT {locks.OPERATION_COLUMNS} FROM payments.payment_operations o "
    "WHERE o.status = 'PENDING' ORDER BY o.created_at LIMIT :limit"
)
_RELEASE = text(
    "UPDATE payments.payment_operations SET lease_until = now(), last_error = :error, updated_at = now() "
    "WHERE id = :id AND status = 'PENDING' AND lease_token = :token"
)
_INTENTS = text(f"SELECT {locks.INTENT_COLUMNS} FROM payments.payment_intents i WHERE i.id = ANY(:ids)")
_INTENTS_OF_ORDER = text(
    f"SELECT {locks.INTENT_COLUMNS} FROM payments.payment_intents i "
    "WHERE i.order_reference = :order_reference ORDER BY i.created_at, i.id"
)
_SAVE_INTENT = text(
    "UPDATE payments.payment_intents SET status = :status, provider_reference = :provider_reference, "
    "captured_amount = :captured, refunded_amount = :refunded, failure_code = :failure_code, "
    "updated_at = :updated_at, version = :version WHERE id = :id AND version = :expected"
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


def to_intent(row: Any) -> PaymentIntent:
    return PaymentIntent(
        id=row.id,
        order_reference=row.order_reference,
        amount=Money(int(row.amount), row.currency),
        status=IntentStatus(row.status),
        provider=row.provider,
        provider_reference=row.provider_reference,
        captured_amount=Money(int(row.captured_amount), row.currency),
        refunded_amount=Money(int(row.refunded_amount), row.currency),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=int(row.version),
        failure_code=row.failure_code,
    )


def intent_snapshot(intent: PaymentIntent) -> dict[str, Any]:
    """The intent as JSON, kept with an operation's outcome so a replay returns it as it was."""
    return {
        "id": str(intent.id),
        "order_reference": intent.order_reference,
        "amount": intent.amount.amount,
        "currency": intent.currency,
        "status": intent.status.value,
        "provider": intent.provider,
        "provider_reference": intent.provider_reference,
        "captured_amount": intent.captured_amount.amount,
        "refunded_amount": intent.refunded_amount.amount,
        "failure_code": intent.failure_code,
        "created_at": intent.created_at.isoformat(),
        "updated_at": intent.updated_at.isoformat(),
        "version": intent.version,
    }


def from_snapshot(raw: dict[str, Any]) -> PaymentIntent:
    values = dict(raw)
    values["id"] = uuid.UUID(raw["id"])
    values["created_at"] = datetime.fromisoformat(raw["created_at"])
    values["updated_at"] = datetime.fromisoformat(raw["updated_at"])
    return to_intent(SimpleNamespace(**values))


def to_operation(row: Any) -> PaymentOperation:
    return PaymentOperation(
        id=row.id,
        kind=OperationKind(row.operation),
        idempotency_key=row.idempotency_key,
        intent_id=row.intent_id,
        order_reference=row.order_reference,
        amount=Money(int(row.amount), row.currency),
        payment_token=row.payment_token,
        reason=row.reason,
        status=OperationStatus(row.status),
        attempts=row.attempts,
        leased=bool(row.leased),
        lease_token=row.lease_token,
        outcome_code=row.outcome_code,
        decline_code=row.decline_code,
        provider_reference=row.provider_reference,
        result=from_snapshot(row.result) if row.result is not None else None,
    )


def _lease(seconds: float) -> Any:
    return func.now() + literal(timedelta(seconds=seconds), Interval())


class PaymentsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # -- writes, on a unit of work's transaction ---------------------------------------------

    async def insert_operation(self, operation: PaymentOperation, lease_seconds: float) -> bool:
        """Record a PENDING operation unless its key is taken; False if it was. A concurrent insert
        of the same key waits here until the first transaction ends."""
        inserted = await self.conn.execute(
            pg_insert(payment_operations)
            .values(
                id=operation.id,
                operation=operation.kind.value,
                idempotency_key=operation.idempotency_key,
                intent_id=operation.intent_id,
                order_reference=operation.order_reference,
                amount=operation.amount.amount,
                currency=operation.amount.currency,
                payment_token=operation.payment_token,
                reason=operation.reason,
                status=operation.status.value,
                attempts=operation.attempts,
                lease_until=_lease(lease_seconds),
                lease_token=operation.lease_token,
            )
            .on_conflict_do_nothing(constraint="payment_operations_key")
            .returning(payment_operations.c.id)
        )
        return inserted.first() is not None

    async def add_intent(self, intent: PaymentIntent) -> None:
        await self.conn.execute(
            insert(payment_intents).values(
                id=intent.id,
                order_reference=intent.order_reference,
                amount=intent.amount.amount,
                currency=intent.currency,
                status=intent.status.value,
                provider=intent.provider,
                provider_reference=intent.provider_reference,
                captured_amount=intent.captured_amount.amount,
                refunded_amount=intent.refunded_amount.amount,
                failure_code=intent.failure_code,
                created_at=intent.created_at,
                updated_at=intent.updated_at,
                version=intent.version,
            )
        )

    async def lock_intent(self, intent_id: uuid.UUID) -> PaymentIntent | None:
        row = await locks.lock_intent(self.conn, intent_id)
        return to_intent(row) if row is not None else None

    async def lock_intent_with_operation(
        self, intent_id: uuid.UUID, operation_id: uuid.UUID
    ) -> tuple[PaymentIntent, OperationStatus | None]:
        row = await locks.lock_intent_with_operation(self.conn, intent_id, operation_id)
        if row is None:  # pragma: no cover - intents are never deleted
            raise RuntimeError(f"payment intent {intent_id} vanished")
        status = OperationStatus(row.operation_status) if row.operation_status is not None else None
        return to_intent(row), status

    async def operations_for(
        self, kind: OperationKind, key: str, intent_id: uuid.UUID
    ) -> list[PaymentOperation]:
        """The operation holding (`kind`, `key`), and the one in flight on the intent, if any."""
        params = {"operation": kind.value, "key": key, "intent_id": intent_id}
        return [to_operation(r) for r in (await self.conn.execute(_OPERATIONS_FOR, params)).all()]

    async def operation_by_key(self, kind: OperationKind, key: str) -> PaymentOperation | None:
        row = (await self.conn.execute(_OPERATION_BY_KEY, {"operation": kind.value, "key": key})).first()
        return to_operation(row) if row is not None else None

    async def claim(self, operation_id: uuid.UUID, lease_seconds: float) -> PaymentOperation | None:
        params = {"id": operation_id, "lease": timedelta(seconds=lease_seconds), "token": uuid.uuid4()}
        row = (await self.conn.execute(locks.CLAIM, params)).first()
        return to_operation(row) if row is not None else None

    async def claim_stale(
        self, limit: int, lease_seconds: float, max_attempts: int
    ) -> list[PaymentOperation]:
        params = {"limit": limit, "lease": timedelta(seconds=lease_seconds), "max_attempts": max_attempts}
        return [to_operation(r) for r in (await self.conn.execute(locks.CLAIM_STALE, params)).all()]

    async def finish(
        self,
        operation: PaymentOperation,
        status: OperationStatus,
        *,
        result: PaymentIntent,
        provider_reference: str,
        outcome_code: str | None = None,
        decline_code: str | None = None,
    ) -> bool:
        """Give a PENDING operation its outcome; False if someone else already did."""
        done = await self.conn.execute(
            update(payment_operations)
            .where(payment_operations.c.id == operation.id, payment_operations.c.status == "PENDING")
            .values(
                status=status.value,
                result=intent_snapshot(result),
                provider_reference=provider_reference or None,
                outcome_code=outcome_code,
                decline_code=decline_code,
                lease_token=None,
                lease_until=func.now(),
                updated_at=func.now(),
            )
        )
        return bool(done.rowcount == 1)

    async def save_intent(self, intent: PaymentIntent, expected_version: int) -> None:
        saved = await self.conn.execute(
            _SAVE_INTENT,
            {
                "id": intent.id,
                "status": intent.status.value,
                "provider_reference": intent.provider_reference,
                "captured": intent.captured_amount.amount,
                "refunded": intent.refunded_amount.amount,
                "failure_code": intent.failure_code,
                "updated_at": intent.updated_at,
                "version": intent.version,
                "expected": expected_version,
            },
        )
        if saved.rowcount != 1:
            raise RuntimeError(f"payment intent {intent.id} changed while its operation was in flight")

    async def add_ledger_entry(self, entry: LedgerEntry) -> None:
        await self.conn.execute(
            insert(ledger_entries).values(
                id=entry.id,
                intent_id=entry.intent_id,
                operation_id=entry.operation_id,
                order_reference=entry.order_reference,
                kind=entry.kind.value,
                amount=entry.amount.amount,
                currency=entry.amount.currency,
                created_at=entry.created_at,
            )
        )

    async def release(self, operation_id: uuid.UUID, lease_token: uuid.UUID | None, error: str) -> None:
        params = {"id": operation_id, "token": lease_token, "error": error[:1000]}
        await self.conn.execute(_RELEASE, params)

    # -- reads ----------------------------------------------------------------------------------

    async def operation(self, operation_id: uuid.UUID) -> PaymentOperation | None:
        row = (await self.conn.execute(_OPERATION, {"id": operation_id})).first()
        return to_operation(row) if row is not None else None

    async def intents(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PaymentIntent]:
        rows = (await self.conn.execute(_INTENTS, {"ids": list(ids)})).all()
        return {row.id: to_intent(row) for row in rows}

    async def intents_for_order(self, order_reference: str) -> list[PaymentIntent]:
        rows = (await self.conn.execute(_INTENTS_OF_ORDER, {"order_reference": order_reference})).all()
        return [to_intent(r) for r in rows]

    async def operations(self, intent_id: uuid.UUID) -> list[PaymentOperation]:
        rows = (await self.conn.execute(_OPERATIONS_OF_INTENT, {"intent_id": intent_id})).all()
        return [to_operation(r) for r in rows]

    async def pending_operations(self, limit: int) -> list[PaymentOperation]:
        return [to_operation(r) for r in (await self.conn.execute(_PENDING, {"limit": limit})).all()]

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
