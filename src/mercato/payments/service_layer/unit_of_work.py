"""The payments' unit of work: one transaction, its store and the events it raised.

The store (`adapters.repository.PaymentsRepository`) is handed in as a factory, so this layer
depends on the `PaymentsStore` port only. A payment command runs in two of these, never one
across the provider call (see `service_layer.operations`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.payments.domain.model import LedgerEntry, OperationKind, PaymentIntent
from mercato.payments.domain.operations import OperationStatus, PaymentOperation
from mercato.platform.unit_of_work import StoreUnitOfWork

Clock = Callable[[], datetime]


class PaymentsStore(Protocol):
    """What the use cases need of storage; one statement per call. Leases run by the database clock."""

    async def insert_operation(self, operation: PaymentOperation, lease_seconds: float) -> bool: ...
    async def add_intent(self, intent: PaymentIntent) -> None: ...
    async def lock_intent(self, intent_id: uuid.UUID) -> PaymentIntent | None: ...
    async def lock_intent_with_operation(
        self, intent_id: uuid.UUID, operation_id: uuid.UUID
    ) -> tuple[PaymentIntent, OperationStatus | None]: ...
    async def operations_for(
        self, kind: OperationKind, key: str, intent_id: uuid.UUID
    ) -> list[PaymentOperation]: ...
    async def operation_by_key(self, kind: OperationKind, key: str) -> PaymentOperation | None: ...
    async def operation(self, operation_id: uuid.UUID) -> PaymentOperation | None: ...
    async def claim(self, operation_id: uuid.UUID, lease_seconds: float) -> PaymentOperation | None: ...
    async def claim_stale(
        self, limit: int, lease_seconds: float, max_attempts: int
    ) -> list[PaymentOperation]: ...
    async def intents(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PaymentIntent]: ...
    async def finish(
        self,
        operation: PaymentOperation,
        status: OperationStatus,
        *,
        result: PaymentIntent,
        provider_reference: str,
        outcome_code: str | None = None,
        decline_code: str | None = None,
    ) -> bool: ...
    async def save_intent(self, intent: PaymentIntent, expected_version: int) -> None: ...
    async def add_ledger_entry(self, entry: LedgerEntry) -> None: ...
    async def release(self, operation_id: uuid.UUID, lease_token: uuid.UUID | None, error: str) -> None: ...


StoreFactory = Callable[[AsyncConnection], PaymentsStore]


class PaymentsUnitOfWork(StoreUnitOfWork[PaymentsStore]):
    """One transaction; the store is built on its connection."""
