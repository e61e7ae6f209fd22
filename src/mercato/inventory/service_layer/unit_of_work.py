"""The inventory's unit of work: one transaction, its store, and the stock events it implies.

The store (`adapters.repository.InventoryRepository`) is handed in as a factory, so this layer
depends on the `InventoryStore` port only (import-linter: service_layer sits below adapters).

One transaction may hold several use cases: a consumer applies a batch of messages in one unit of
work (group commit), each use case locking and changing its own `StockBook`. Every statement that
writes stock rows also reads the level of the SKUs it wrote (`LevelMove`, in `store.moves`). On
commit, rows left unwritten are written back, and per SKU whose availability moved over the whole
transaction one `stock_level_changed` is added, plus an `availability_flipped` when it crossed zero.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.inventory.domain.events import AvailabilityFlipped, StockLevelChanged
from mercato.inventory.domain.model import Adjustment, Reservation, Warehouse
from mercato.inventory.domain.stock import LevelMove, StockBook
from mercato.platform.events import DomainEvent
from mercato.platform.unit_of_work import StoreUnitOfWork

Clock = Callable[[], datetime]


class InventoryStore(Protocol):
    """What the use cases need of storage. `lock_stock` is called at most once per use case; the
    books of a transaction are in `books`, its stock writes in `moves`, oldest first."""

    books: list[StockBook]
    moves: list[LevelMove]

    async def add_warehouse(self, warehouse: Warehouse) -> None: ...
    async def warehouse_exists(self, warehouse_id: uuid.UUID) -> bool: ...
    async def ensure_stock_row(self, sku: str, warehouse_id: uuid.UUID) -> None: ...
    async def lock_stock(self, skus: Sequence[str]) -> StockBook: ...
    async def save_stock(self, book: StockBook) -> None: ...
    async def adjustment_by_key(self, key: str) -> Adjustment | None: ...
    async def add_adjustment(self, adjustment: Adjustment) -> None: ...
    async def open_reservations(self, reservations: Sequence[Reservation]) -> set[uuid.UUID]: ...
    async def hold(self, reservations: Sequence[Reservation], book: StockBook) -> None: ...
    async def drop_reservations(self, reservation_ids: Sequence[uuid.UUID]) -> None: ...
    async def reservation_by_reference(self, reference: str) -> Reservation | None: ...
    async def lock_reservation(self, reservation_id: uuid.UUID) -> Reservation | None: ...
    async def lock_reservations(self, reservation_ids: Sequence[uuid.UUID]) -> list[Reservation]: ...
    async def claim_expired(self, now: datetime, limit: int) -> list[Reservation]: ...
    async def save_status(self, changed: Sequence[Reservation], book: StockBook | None = None) -> None: ...


StoreFactory = Callable[[AsyncConnection], InventoryStore]


def stock_events(moves: Sequence[LevelMove]) -> list[DomainEvent]:
    """The level events of a transaction whose stock writes are `moves` (oldest first): per SKU, the
    units available before its first write against those after its last one."""
    first: dict[str, LevelMove] = {}
    last: dict[str, LevelMove] = {}
    for move in moves:
        first.setdefault(move.sku, move)
        last[move.sku] = move
    events: list[DomainEvent] = []
    for sku in sorted(last):
        before, after, version = first[sku].before, last[sku].after, last[sku].version
        if after == before:
            continue
        events.append(StockLevelChanged(aggregate_id=sku, sku=sku, available=after, stock_version=version))
        if (after > 0) != (before > 0):
            flip = AvailabilityFlipped(
                aggregate_id=sku, sku=sku, in_stock=after > 0, available=after, stock_version=version
            )
            events.append(flip)
    return events


class InventoryUnitOfWork(StoreUnitOfWork[InventoryStore]):
    async def commit(self) -> None:
        for book in self.store.books:
            await self.store.save_stock(book)  # nothing to do for a book its use case wrote already
        self.add_events(stock_events(self.store.moves))
        await super().commit()


@dataclass(frozen=True)
class InventoryDeps:
    """What every inventory handler gets besides its command: a fresh unit of work per call, and
    the clock (the units of work read it too, for reservation expiries)."""

    uow: Callable[[], InventoryUnitOfWork]
    clock: Clock
