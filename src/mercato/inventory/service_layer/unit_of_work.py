"""The inventory's unit of work: one transaction, its store, and the stock events it implies.

The store (`adapters.repository.InventoryRepository`) is handed in as a factory, so this layer
depends on the `InventoryStore` port only (import-linter: service_layer sits below adapters).

One transaction may hold several use cases: a consumer applies a batch of messages in one unit of
work (group commit), each use case locking and changing its own `StockBook`. On commit, stock rows
left unwritten are written back, and per SKU whose availability moved over the whole transaction
one `stock_level_changed` is added, plus an `availability_flipped` when it crossed zero. Both are
read from the locked books, not from the table: a book holds every row of its SKUs (locked), and a
later book of the same SKU was loaded after the earlier one was written, so the last book of a SKU
has its rows as they are at commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.inventory.domain.events import AvailabilityFlipped, StockLevelChanged
from mercato.inventory.domain.model import Adjustment, Reservation, Warehouse
from mercato.inventory.domain.stock import StockBook
from mercato.platform.events import DomainEvent
from mercato.platform.unit_of_work import StoreUnitOfWork

Clock = Callable[[], datetime]


class InventoryStore(Protocol):
    """What the use cases need of storage. `lock_stock` is called at most once per use case; the
    books of a transaction are in `books`, oldest first."""

    books: list[StockBook]

    async def add_warehouse(self, warehouse: Warehouse) -> None: ...
    async def warehouse_exists(self, warehouse_id: uuid.UUID) -> bool: ...
    async def ensure_stock_row(self, sku: str, warehouse_id: uuid.UUID) -> None: ...
    async def lock_stock(self, skus: Sequence[str]) -> StockBook: ...
    async def save_stock(self, book: StockBook) -> None: ...
    async def adjustment_by_key(self, key: str) -> Adjustment | None: ...
    async def add_adjustment(self, adjustment: Adjustment) -> None: ...
    async def open_reservation(self, reservation: Reservation) -> bool: ...
    async def hold(self, reservation: Reservation, book: StockBook) -> None: ...
    async def drop_reservation(self, reservation_id: uuid.UUID) -> None: ...
    async def reservation_by_reference(self, reference: str) -> Reservation | None: ...
    async def lock_reservation(self, reservation_id: uuid.UUID) -> Reservation | None: ...
    async def claim_expired(self, now: datetime, limit: int) -> list[Reservation]: ...
    async def save_status(self, changed: Sequence[Reservation], book: StockBook | None = None) -> None: ...


StoreFactory = Callable[[AsyncConnection], InventoryStore]


def stock_events(books: Sequence[StockBook]) -> list[DomainEvent]:
    """The level events of a transaction whose books are `books` (oldest first): per SKU, the units
    available before the first book changed it against those of the last book that holds it."""
    before: dict[str, int] = {}
    last: dict[str, StockBook] = {}
    for book in books:
        for sku, available in book.available_before.items():
            before.setdefault(sku, available)
        for sku in book.skus:
            last[sku] = book
    events: list[DomainEvent] = []
    for sku in sorted(before):
        available, version = last[sku].available(sku), last[sku].version(sku)
        if available == before[sku]:
            continue
        events.append(StockLevelChanged(aggregate_id=sku, sku=sku, available=available, stock_version=version))
        if (available > 0) != (before[sku] > 0):
            flip = AvailabilityFlipped(
                aggregate_id=sku, sku=sku, in_stock=available > 0, available=available, stock_version=version
            )
            events.append(flip)
    return events


class InventoryUnitOfWork(StoreUnitOfWork[InventoryStore]):
    async def commit(self) -> None:
        for book in self.store.books:
            await self.store.save_stock(book)  # nothing to do for a book its use case wrote already
        self.add_events(stock_events(self.store.books))
        await super().commit()
