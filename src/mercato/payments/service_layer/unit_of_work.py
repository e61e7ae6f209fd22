"""The payments' unit of work: one transaction, its store and the events it raised.

The store (`adapters.repository.PaymentsRepository`) is handed in as a factory, so this layer
depends on the `PaymentsStore` port only. A payment command runs in two of these, never one
across the provider call (see `service_layer.operations`). The second may be an event consumer's
unit of work, shared by a batch of messages: it then remembers which intents and keys it holds
locked (so no command of the batch waits for them from another connection) and which leases its
outcomes end, to free them at once if it rolls back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.payments.domain.model import OperationKind, PaymentIntent
from mercato.payments.domain.operations import OperationStatus, Outcome, PaymentOperation
from mercato.platform.db import Database
from mercato.platform.outbox import Outbox
from mercato.platform.outbox_embed import EmbeddedEvents
from mercato.platform.unit_of_work import StoreUnitOfWork

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Lease = tuple[uuid.UUID, uuid.UUID | None]  # (operation id, lease token)


class PaymentsStore(Protocol):
    """What the use cases need of storage; one statement per call. Leases run by the database clock."""

    async def insert_authorization(
        self, operation: PaymentOperation, intent: PaymentIntent, lease_seconds: float
    ) -> PaymentOperation | None: ...
    async def insert_operation(self, operation: PaymentOperation, lease_seconds: float) -> bool: ...
    async def lock_intent_with_operations(
        self, intent_id: uuid.UUID, kind: OperationKind, key: str, *, nowait: bool = False
    ) -> tuple[PaymentIntent, list[PaymentOperation]] | None: ...
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
    async def record_outcome(self, outcome: Outcome, events: EmbeddedEvents | None = None) -> None: ...
    async def record_outcome_if_current(
        self, outcome: Outcome, events: EmbeddedEvents | None = None
    ) -> bool: ...
    async def release(self, operation_id: uuid.UUID, lease_token: uuid.UUID | None, error: str) -> None: ...
    async def release_all(self, leases: Sequence[Lease], error: str) -> None: ...


StoreFactory = Callable[[AsyncConnection], PaymentsStore]


class PaymentsUnitOfWork(StoreUnitOfWork[PaymentsStore]):
    """One transaction; the store is built on its connection."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        on_commit: Callable[[], None] | None = None,
        *,
        store: StoreFactory,
        clock: Clock,
    ) -> None:
        super().__init__(db, outbox, on_commit, store=store, clock=clock)
        self._forget()

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._forget()
        return self

    def _forget(self) -> None:
        self.held_intents: set[uuid.UUID] = set()
        self.held_keys: set[tuple[OperationKind, str]] = set()
        self._leases: list[Lease] = []

    @property
    def holds_locks(self) -> bool:
        """Whether this transaction holds an intent's lock (until it ends)."""
        return bool(self.held_intents)

    def holds(self, kind: OperationKind, key: str, intent_id: uuid.UUID | None) -> bool:
        return (kind, key) in self.held_keys or intent_id in self.held_intents

    def locked(self, intent_id: uuid.UUID) -> None:
        """This transaction locked the intent (FOR UPDATE): nobody else gets it before it ends."""
        self.held_intents.add(intent_id)

    def recorded(self, operation: PaymentOperation, planned: PaymentOperation | None = None) -> None:
        """This transaction finished `operation` (and wrote its `planned` capture finished): their
        keys and rows are held too, and the lease is freed should the transaction roll back."""
        self.held_intents.add(operation.intent_id)
        self.held_keys.add((operation.kind, operation.idempotency_key))
        self._leases.append((operation.id, operation.lease_token))
        if planned is not None:  # its row has no lease: it exists only if this transaction commits
            self.held_keys.add((planned.kind, planned.idempotency_key))

    async def commit(self) -> None:
        await super().commit()
        self._forget()

    async def rollback(self) -> None:
        leases = self._leases
        await super().rollback()
        self._forget()
        await self._release(leases)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        leases = self._leases
        await super().__aexit__(exc_type, exc, tb)
        self._forget()
        await self._release(leases)

    async def _release(self, leases: list[Lease]) -> None:
        """The outcomes written here rolled back: their operations are PENDING again, and a retry
        of their message may drive them at once instead of waiting for the leases to run out."""
        if not leases:
            return
        try:
            async with self.db.engine.begin() as conn:
                await self._store_factory(conn).release_all(leases, "the outcome's transaction rolled back")
        except (SQLAlchemyError, OSError):
            log.warning("could not release the leases of %d payment operations", len(leases), exc_info=True)
