"""Read side: plain SELECTs on a connection of their own, no unit of work, no locks.

The statements live with the repository (`PaymentsReader`, handed in as a factory) so that rows
are mapped to the domain in one place. Each query is one statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.payments.domain.model import LedgerEntry, PaymentIntent, Reconciliation
from mercato.payments.domain.operations import PaymentOperation
from mercato.platform.db import Database


class PaymentsReader(Protocol):
    async def intents(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, PaymentIntent]: ...
    async def intents_for_order(self, order_reference: str) -> list[PaymentIntent]: ...
    async def operations(self, intent_id: uuid.UUID) -> list[PaymentOperation]: ...
    async def pending_operations(self, limit: int) -> list[PaymentOperation]: ...
    async def ledger(self, intent_id: uuid.UUID) -> list[LedgerEntry]: ...
    async def reconcile(self, order_reference: str) -> list[Reconciliation]: ...
    async def totals(self) -> dict[str, int]: ...


ReaderFactory = Callable[[AsyncConnection], PaymentsReader]


class PaymentsQueries:
    """What `PaymentsService.queries` is."""

    def __init__(self, db: Database, reader: ReaderFactory) -> None:
        self.db = db
        self._reader = reader

    async def intent(self, intent_id: uuid.UUID) -> PaymentIntent | None:
        async with self.db.connect() as conn:
            return (await self._reader(conn).intents([intent_id])).get(intent_id)

    async def intents_for_order(self, order_reference: str) -> list[PaymentIntent]:
        """The order's intents, oldest first (a declined one, then the retry that succeeded, ...)."""
        async with self.db.connect() as conn:
            return await self._reader(conn).intents_for_order(order_reference)

    async def operations(self, intent_id: uuid.UUID) -> list[PaymentOperation]:
        """Every operation recorded on the intent, with its outcome, oldest first."""
        async with self.db.connect() as conn:
            return await self._reader(conn).operations(intent_id)

    async def pending_operations(self, limit: int = 100) -> list[PaymentOperation]:
        """Operations still without an outcome, oldest first: what needs a sweep, or a person."""
        async with self.db.connect() as conn:
            return await self._reader(conn).pending_operations(max(1, min(limit, 1_000)))

    async def ledger(self, intent_id: uuid.UUID) -> list[LedgerEntry]:
        async with self.db.connect() as conn:
            return await self._reader(conn).ledger(intent_id)

    async def reconcile(self, order_reference: str) -> list[Reconciliation]:
        """The order's authorized, captured, refunded and voided sums from the ledger, one per
        currency (an order normally has one); empty when nothing moved."""
        async with self.db.connect() as conn:
            return await self._reader(conn).reconcile(order_reference)

    async def totals(self) -> dict[str, int]:
        """Sum of captures minus sum of refunds per currency, over the whole ledger."""
        async with self.db.connect() as conn:
            return await self._reader(conn).totals()
