"""In-memory `PaymentsStore` (tests only): intents, operations with their leases (run by the
simulation's clock, as the SQL ones run by the database's), the ledger. The same rules as the SQL
schema: one operation per (kind, key), one PENDING operation per intent, one ledger entry per
operation, an intent saved only at the version its outcome expected.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mercato.payments.domain.model import LedgerEntry, OperationKind, PaymentIntent
from mercato.payments.domain.operations import OperationStatus, Outcome, PaymentOperation
from mercato.platform.outbox_embed import EmbeddedEvents
from tests.simulation.memory import MemoryTransaction
from tests.simulation.stores import ConstraintViolated


@dataclass(frozen=True)
class OperationRow:
    operation: PaymentOperation
    lease_until: datetime
    created: int  # insertion order, for the sweeper's ordering ties


class MemoryPaymentsStore:
    """Tables `intents`, `operations` (id -> OperationRow), `operation_keys` ((kind, key) -> id),
    `ledger` (operation id -> LedgerEntry)."""

    def __init__(self, tx: MemoryTransaction, clock: Callable[[], datetime]) -> None:
        self.tx = tx
        self.clock = clock

    def _statement(self, what: str) -> None:
        self.tx.db.statement(f"payments.{what}")

    def _view(self, row: OperationRow) -> PaymentOperation:
        return replace(row.operation, leased=row.lease_until > self.clock())

    def _rows(self) -> list[OperationRow]:
        return sorted(self.tx.values("operations"), key=lambda r: r.created)

    def _insert(self, operation: PaymentOperation, lease_seconds: float) -> bool:
        key = (operation.kind, operation.idempotency_key)
        in_flight = any(
            r.operation.intent_id == operation.intent_id and r.operation.status is OperationStatus.PENDING
            for r in self._rows()
        )
        if self.tx.get("operation_keys", key) is not None or in_flight:
            return False
        created = len(self.tx.db.tables["operations"])
        row = OperationRow(operation, self.clock() + timedelta(seconds=lease_seconds), created)
        self.tx.put("operations", operation.id, row)
        self.tx.put("operation_keys", key, operation.id)
        return True

    async def insert_authorization(
        self, operation: PaymentOperation, intent: PaymentIntent, lease_seconds: float
    ) -> PaymentOperation | None:
        self._statement("insert_authorization")
        planned = operation.capture_key
        if (
            planned is not None
            and self.tx.get("operation_keys", (OperationKind.CAPTURE, planned)) is not None
        ):
            operation = replace(operation, capture_key=None)  # the key is taken: no planned capture
        if not self._insert(operation, lease_seconds):
            return None
        self.tx.put("intents", intent.id, intent)
        return operation

    async def insert_operation(self, operation: PaymentOperation, lease_seconds: float) -> bool:
        self._statement("insert_operation")
        return self._insert(operation, lease_seconds)

    def _related(self, kind: OperationKind, key: str, intent_id: uuid.UUID) -> list[PaymentOperation]:
        return [
            self._view(r)
            for r in self._rows()
            if (r.operation.kind, r.operation.idempotency_key) == (kind, key)
            or (r.operation.intent_id == intent_id and r.operation.status is OperationStatus.PENDING)
        ]

    async def lock_intent_with_operations(
        self, intent_id: uuid.UUID, kind: OperationKind, key: str, *, nowait: bool = False
    ) -> tuple[PaymentIntent, list[PaymentOperation]] | None:
        self._statement("lock_intent_with_operations")
        intent: PaymentIntent | None = self.tx.get("intents", intent_id)
        return None if intent is None else (intent, self._related(kind, key, intent_id))

    async def lock_intent_with_operation(
        self, intent_id: uuid.UUID, operation_id: uuid.UUID
    ) -> tuple[PaymentIntent, OperationStatus | None]:
        self._statement("lock_intent_with_operation")
        row: OperationRow | None = self.tx.get("operations", operation_id)
        return self.tx.get("intents", intent_id), row.operation.status if row is not None else None

    async def operations_for(
        self, kind: OperationKind, key: str, intent_id: uuid.UUID
    ) -> list[PaymentOperation]:
        self._statement("operations_for")
        return self._related(kind, key, intent_id)

    async def operation_by_key(self, kind: OperationKind, key: str) -> PaymentOperation | None:
        self._statement("operation_by_key")
        operation_id = self.tx.get("operation_keys", (kind, key))
        return None if operation_id is None else self._view(self.tx.get("operations", operation_id))

    async def operation(self, operation_id: uuid.UUID) -> PaymentOperation | None:
        self._statement("operation")
        row = self.tx.get("operations", operation_id)
        return None if row is None else self._view(row)

    def _claim(self, row: OperationRow, lease_seconds: float) -> PaymentOperation:
        operation = replace(row.operation, lease_token=uuid.uuid4(), attempts=row.operation.attempts + 1)
        claimed = replace(
            row, operation=operation, lease_until=self.clock() + timedelta(seconds=lease_seconds)
        )
        self.tx.put("operations", operation.id, claimed)
        return self._view(claimed)

    def _stale(self, row: OperationRow) -> bool:
        return row.operation.status is OperationStatus.PENDING and row.lease_until <= self.clock()

    async def claim(self, operation_id: uuid.UUID, lease_seconds: float) -> PaymentOperation | None:
        self._statement("claim")
        row: OperationRow | None = self.tx.get("operations", operation_id)
        return self._claim(row, lease_seconds) if row is not None and self._stale(row) else None

    async def claim_stale(
        self, limit: int, lease_seconds: float, max_attempts: int
    ) -> list[PaymentOperation]:
        self._statement("claim_stale")
        stale = [r for r in self._rows() if self._stale(r) and r.operation.attempts < max_attempts]
        stale.sort(key=lambda r: (r.lease_until, r.created))
        return [self._claim(r, lease_seconds) for r in stale[:limit]]

    async def intents(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PaymentIntent]:
        self._statement("intents")
        return {i: self.tx.get("intents", i) for i in ids if self.tx.get("intents", i) is not None}

    async def record_outcome_if_current(self, outcome: Outcome, events: EmbeddedEvents | None = None) -> bool:
        self._statement("record_outcome_if_current")
        operation = outcome.operation
        stored: PaymentIntent | None = self.tx.get("intents", operation.intent_id)
        row: OperationRow | None = self.tx.get("operations", operation.id)
        if stored is None or stored.version != outcome.expected_version:
            return False
        if row is None or row.operation.status is not OperationStatus.PENDING:
            return False
        self._record(outcome)
        return True

    async def record_outcome(self, outcome: Outcome, events: EmbeddedEvents | None = None) -> None:
        self._statement("record_outcome")
        self._record(outcome)

    def _record(self, outcome: Outcome) -> None:
        operation = outcome.operation
        row: OperationRow = self.tx.get("operations", operation.id)
        if row.operation.status is not OperationStatus.PENDING:
            raise RuntimeError(f"payment operation {operation.id} finished twice")
        finished = replace(
            row.operation,
            status=outcome.status,
            result=outcome.result,
            provider_reference=outcome.provider_reference or None,
            outcome_code=outcome.outcome_code,
            decline_code=outcome.decline_code,
            lease_token=None,
        )
        self.tx.put("operations", operation.id, replace(row, operation=finished, lease_until=self.clock()))
        if outcome.intent is not None:
            stored: PaymentIntent = self.tx.get("intents", outcome.intent.id)
            if stored.version != outcome.expected_version:
                raise RuntimeError(f"payment intent {stored.id} changed while its operation was in flight")
            self.tx.put("intents", outcome.intent.id, outcome.intent)
        if outcome.ledger is not None:
            self._ledger(operation.id, outcome.ledger)
        if outcome.capture is not None:
            self._planned_capture(outcome.capture)

    def _ledger(self, operation_id: uuid.UUID, entry: LedgerEntry) -> None:
        if self.tx.get("ledger", operation_id) is not None:
            raise ConstraintViolated(f"ledger entry of operation {operation_id} twice")
        self.tx.put("ledger", operation_id, entry)

    def _planned_capture(self, capture: Outcome) -> None:
        """The capture an authorization planned, written finished (never PENDING: the in-flight
        rule never sees it beside its authorization)."""
        operation = capture.operation
        key = (operation.kind, operation.idempotency_key)
        if (
            self.tx.get("operation_keys", key) is not None
            or self.tx.get("operations", operation.id) is not None
        ):
            raise ConstraintViolated(f"payment operation {operation.id} ({key}) twice")
        finished = replace(
            operation,
            status=capture.status,
            result=capture.result,
            provider_reference=capture.provider_reference or None,
            outcome_code=capture.outcome_code,
            decline_code=capture.decline_code,
            leased=False,
            lease_token=None,
        )
        created = len(self.tx.db.tables["operations"])
        self.tx.put("operations", operation.id, OperationRow(finished, self.clock(), created))
        self.tx.put("operation_keys", key, operation.id)
        if capture.ledger is not None:
            self._ledger(operation.id, capture.ledger)

    def _free(self, operation_id: uuid.UUID, lease_token: uuid.UUID | None) -> None:
        row: OperationRow | None = self.tx.get("operations", operation_id)
        if row is None or row.operation.status is not OperationStatus.PENDING:
            return
        if row.operation.lease_token == lease_token:
            self.tx.put("operations", operation_id, replace(row, lease_until=self.clock()))

    async def release(self, operation_id: uuid.UUID, lease_token: uuid.UUID | None, error: str) -> None:
        self._statement("release")
        self._free(operation_id, lease_token)

    async def release_all(self, leases: Sequence[tuple[uuid.UUID, uuid.UUID | None]], error: str) -> None:
        self._statement("release_all")
        for operation_id, token in leases:
            self._free(operation_id, token)
