"""How other contexts call the inventory: the `InventoryClient` Protocol, and its in-process form.

A checkout saga depends on the Protocol only; a gRPC implementation can replace the in-process
one without the caller changing. Errors arrive as `platform.errors` classes with the codes of
`domain.errors` (e.g. `Conflict` with `ReserveStockErrorCode.INSUFFICIENT_STOCK`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from mercato.inventory.domain import commands
from mercato.inventory.domain.model import Adjustment, Reservation, Warehouse
from mercato.inventory.service_layer.queries import StockView, WarehouseView

if TYPE_CHECKING:
    from mercato.inventory.bootstrap import InventoryService


class InventoryClient(Protocol):
    # Mutations take their command (`domain.commands`); queries take plain arguments.
    async def create_warehouse(self, cmd: commands.CreateWarehouse) -> Warehouse: ...

    async def adjust(self, cmd: commands.AdjustStock) -> Adjustment: ...

    async def reserve(self, cmd: commands.ReserveStock) -> Reservation: ...

    async def commit(self, cmd: commands.CommitReservation) -> Reservation: ...

    async def release(self, cmd: commands.ReleaseReservation) -> Reservation: ...

    async def availability(self, skus: Sequence[str]) -> dict[str, int]: ...

    async def warehouses(self) -> list[WarehouseView]: ...

    async def stock(self, sku: str) -> list[StockView]: ...


class InProcessInventoryClient:
    """`InventoryClient` calling an `InventoryService` in the same process."""

    def __init__(self, service: InventoryService) -> None:
        self.service = service

    async def create_warehouse(self, cmd: commands.CreateWarehouse) -> Warehouse:
        return await self.service.handle(cmd)

    async def adjust(self, cmd: commands.AdjustStock) -> Adjustment:
        return await self.service.handle(cmd)

    async def reserve(self, cmd: commands.ReserveStock) -> Reservation:
        return await self.service.handle(cmd)

    async def commit(self, cmd: commands.CommitReservation) -> Reservation:
        return await self.service.handle(cmd)

    async def release(self, cmd: commands.ReleaseReservation) -> Reservation:
        return await self.service.handle(cmd)

    async def availability(self, skus: Sequence[str]) -> dict[str, int]:
        return await self.service.queries.availability(skus)

    async def warehouses(self) -> list[WarehouseView]:
        return await self.service.queries.warehouses()

    async def stock(self, sku: str) -> list[StockView]:
        return await self.service.queries.stock(sku)
