"""How other contexts call the inventory: the `InventoryClient` Protocol, and its in-process form.

A checkout saga depends on the Protocol only; a gRPC implementation can replace the in-process
one without the caller changing. Errors arrive as `platform.errors` classes with the codes of
`domain.errors` (e.g. `Conflict` with `ReserveStockErrorCode.INSUFFICIENT_STOCK`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from mercato.inventory.domain import commands
from mercato.inventory.domain.model import Adjustment, Reservation, Warehouse
from mercato.inventory.service_layer.queries import StockView, WarehouseView

if TYPE_CHECKING:
    from mercato.inventory.bootstrap import InventoryService


class InventoryClient(Protocol):
    async def create_warehouse(self, *, code: str, name: str) -> Warehouse: ...

    async def adjust(
        self,
        *,
        sku: str,
        warehouse_id: uuid.UUID,
        reason: str,
        actor: str,
        delta: int | None = None,
        set_on_hand: int | None = None,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> Adjustment: ...

    async def reserve(
        self,
        *,
        reference: str,
        lines: Sequence[tuple[str, int]],
        ttl_seconds: int = commands.DEFAULT_RESERVATION_TTL_SECONDS,
    ) -> Reservation: ...

    async def commit(self, reservation_id: uuid.UUID) -> Reservation: ...

    async def release(self, reservation_id: uuid.UUID, reason: str) -> Reservation: ...

    async def availability(self, skus: Sequence[str]) -> dict[str, int]: ...

    async def warehouses(self) -> list[WarehouseView]: ...

    async def stock(self, sku: str) -> list[StockView]: ...


class InProcessInventoryClient:
    """`InventoryClient` calling an `InventoryService` in the same process."""

    def __init__(self, service: InventoryService) -> None:
        self.service = service

    async def create_warehouse(self, *, code: str, name: str) -> Warehouse:
        return await self.service.handle(commands.CreateWarehouse(code=code, name=name))

    async def adjust(
        self,
        *,
        sku: str,
        warehouse_id: uuid.UUID,
        reason: str,
        actor: str,
        delta: int | None = None,
        set_on_hand: int | None = None,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> Adjustment:
        return await self.service.handle(
            commands.AdjustStock(
                sku=sku,
                warehouse_id=warehouse_id,
                reason=reason,
                actor=actor,
                delta=delta,
                set_on_hand=set_on_hand,
                note=note,
                idempotency_key=idempotency_key,
            )
        )

    async def reserve(
        self,
        *,
        reference: str,
        lines: Sequence[tuple[str, int]],
        ttl_seconds: int = commands.DEFAULT_RESERVATION_TTL_SECONDS,
    ) -> Reservation:
        return await self.service.handle(
            commands.ReserveStock(reference=reference, lines=list(lines), ttl_seconds=ttl_seconds)
        )

    async def commit(self, reservation_id: uuid.UUID) -> Reservation:
        return await self.service.handle(commands.CommitReservation(reservation_id=reservation_id))

    async def release(self, reservation_id: uuid.UUID, reason: str) -> Reservation:
        return await self.service.handle(
            commands.ReleaseReservation(reservation_id=reservation_id, reason=reason)
        )

    async def availability(self, skus: Sequence[str]) -> dict[str, int]:
        return await self.service.queries.availability(skus)

    async def warehouses(self) -> list[WarehouseView]:
        return await self.service.queries.warehouses()

    async def stock(self, sku: str) -> list[StockView]:
        return await self.service.queries.stock(sku)
