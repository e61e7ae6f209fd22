"""The inventory's unit of work: one transaction, its store, and the stock events it implies.

The store (`adapters.repository.InventoryRepository`) is handed in as a factory, so this layer
depends on the `InventoryStore` port only (import-linter: service_layer sits below adapters).
On commit, changed stock rows are written back, and one `stock_level_changed` per SKU whose
availability moved is added, computed after the writes so it sees every committed row of the SKU.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.inventory.domain.events import StockLevelChanged
from mercato.inventory.domain.model import Adjustment, Reservation, Warehouse
from mercato.inventory.domain.stock import StockBook
from mercato.platform.unit_of_work import StoreUnitOfWork

Clock = Callable[[], datetime]


class InventoryStore(Protocol):
    """What the use cases need of storage. `lock_stock` is called at most once per transaction."""

    books: list[StockBook]

    async def add_warehouse(self, warehouse: Warehouse) -> None: ...
    async def warehouse_exists(self, warehouse_id: uuid.UUID) -> bool: ...
    async def ensure_stock_row(self, sku: str, warehouse_id: uuid.UUID) -> None: ...
    async def lock_stock(self, skus: Sequence[str]) -> StockBook: ...
    async def save_stock(self, book: StockBook) -> None: ...
    async def stock_levels(self, skus: Sequence[str]) -> list[tuple[str, int, int]]: ...
    async def adjustment_by_key(self, key: str) -> Adjustment | None: ...
    async def add_adjustment(self, adjustment: Adjustment) -> None: ...
    async def open_reservation(self, reservation: Reservation) -> bool: ...
    async def add_allocations(self, reservation: Reservation) -> None: ...
    async def reservation_by_reference(self, reference: str) -> Reservation | None: ...
    async def lock_reservation(self, reservation_id: uuid.UUID) -> Reservation | None: ...
    async def claim_expired(self, now: datetime, limit: int) -> list[Reservation]: ...
    async def save_status(self, changed: Sequence[Reservation]) -> None: ...


StoreFactory = Callable[[AsyncConnection], InventoryStore]


class InventoryUnitOfWork(StoreUnitOfWork[InventoryStore]):
    async def commit(self) -> None:
        changed: set[str] = set()
        for book in self.store.books:
            await self.store.save_stock(book)
            changed.update(book.availability_changed)
        if changed:
            levels = await self.store.stock_levels(sorted(changed))
            self.add_events(
                [
                    StockLevelChanged(aggregate_id=sku, sku=sku, available=available, stock_version=version)
                    for sku, available, version in levels
                ]
            )
        await super().commit()
