"""The inventory over gRPC (`mercato.inventory.v1.InventoryService`): request -> command or query ->
response. Authentication and error mapping are the platform server's; typed errors just propagate."""

from __future__ import annotations

from typing import Any, Protocol

from mercato._gen.mercato.inventory.v1 import inventory_pb2, inventory_service_pb2, inventory_service_pb2_grpc
from mercato.inventory.domain import commands
from mercato.inventory.domain.model import Adjustment, Reservation, Warehouse
from mercato.inventory.service_layer.queries import InventoryQueries, StockView, WarehouseView
from mercato.platform.grpc.convert import parse_uuid, to_timestamp
from mercato.platform.grpc.server import ServiceRegistration

SERVICE_NAME = "mercato.inventory.v1.InventoryService"


class InventoryService(Protocol):
    """What the servicer uses of `bootstrap.InventoryService` (entrypoints sit below bootstrap)."""

    queries: InventoryQueries

    async def handle(self, cmd: Any) -> Any: ...


def warehouse_message(warehouse: Warehouse | WarehouseView) -> inventory_pb2.Warehouse:
    created_at = warehouse.created_at if isinstance(warehouse, WarehouseView) else None
    return inventory_pb2.Warehouse(
        id=str(warehouse.id),
        code=warehouse.code,
        name=warehouse.name,
        created_at=to_timestamp(created_at) if created_at is not None else None,
    )


def adjustment_message(adjustment: Adjustment) -> inventory_pb2.Adjustment:
    return inventory_pb2.Adjustment(
        id=str(adjustment.id),
        sku=adjustment.sku,
        warehouse_id=str(adjustment.warehouse_id),
        delta=adjustment.delta,
        on_hand_after=adjustment.on_hand_after,
        reason=inventory_pb2.AdjustmentReason.Value(f"ADJUSTMENT_REASON_{adjustment.reason}"),
        note=adjustment.note,
        actor=adjustment.actor,
        idempotency_key=adjustment.idempotency_key,
        set_on_hand=adjustment.set_on_hand,
    )


def reservation_message(reservation: Reservation) -> inventory_pb2.Reservation:
    return inventory_pb2.Reservation(
        id=str(reservation.id),
        reference=reservation.reference,
        status=inventory_pb2.ReservationStatus.Value(f"RESERVATION_STATUS_{reservation.status.value}"),
        expires_at=to_timestamp(reservation.expires_at),
        allocations=[
            inventory_pb2.Allocation(sku=a.sku, warehouse_id=str(a.warehouse_id), quantity=a.quantity)
            for a in reservation.allocations
        ],
        release_reason=reservation.release_reason,
    )


def stock_message(view: StockView) -> inventory_pb2.StockLevel:
    return inventory_pb2.StockLevel(
        sku=view.sku,
        warehouse_id=str(view.warehouse_id),
        warehouse_code=view.warehouse_code,
        on_hand=view.on_hand,
        reserved=view.reserved,
        available=view.available,
        version=view.version,
    )


def _reason(value: int) -> str:
    # UNSPECIFIED becomes "", which the model refuses as an unknown reason, as it would in process.
    name = inventory_pb2.AdjustmentReason.Name(value).removeprefix("ADJUSTMENT_REASON_")
    return "" if name == "UNSPECIFIED" else name


class InventoryServicer(inventory_service_pb2_grpc.InventoryServiceServicer):
    def __init__(self, service: InventoryService) -> None:
        self.service = service

    async def ReserveStock(self, request: Any, context: Any) -> inventory_service_pb2.ReserveStockResponse:
        command = commands.ReserveStock(
            reference=request.reference,
            lines=[commands.ReservationLine(line.sku, line.quantity) for line in request.lines],
            ttl_seconds=(
                request.ttl_seconds
                if request.HasField("ttl_seconds")
                else commands.DEFAULT_RESERVATION_TTL_SECONDS
            ),
        )
        reservation = await self.service.handle(command)
        return inventory_service_pb2.ReserveStockResponse(reservation=reservation_message(reservation))

    async def CommitReservation(
        self, request: Any, context: Any
    ) -> inventory_service_pb2.CommitReservationResponse:
        command = commands.CommitReservation(
            reservation_id=parse_uuid(request.reservation_id, "reservationId")
        )
        reservation = await self.service.handle(command)
        return inventory_service_pb2.CommitReservationResponse(reservation=reservation_message(reservation))

    async def ReleaseReservation(
        self, request: Any, context: Any
    ) -> inventory_service_pb2.ReleaseReservationResponse:
        command = commands.ReleaseReservation(
            reservation_id=parse_uuid(request.reservation_id, "reservationId"), reason=request.reason
        )
        reservation = await self.service.handle(command)
        return inventory_service_pb2.ReleaseReservationResponse(reservation=reservation_message(reservation))

    async def RestockReservation(
        self, request: Any, context: Any
    ) -> inventory_service_pb2.RestockReservationResponse:
        command = commands.RestockReservation(
            reservation_id=parse_uuid(request.reservation_id, "reservationId"), reason=request.reason
        )
        reservation = await self.service.handle(command)
        return inventory_service_pb2.RestockReservationResponse(reservation=reservation_message(reservation))

    async def AdjustStock(self, request: Any, context: Any) -> inventory_service_pb2.AdjustStockResponse:
        command = commands.AdjustStock(
            sku=request.sku,
            warehouse_id=parse_uuid(request.warehouse_id, "warehouseId"),
            reason=_reason(request.reason),
            actor=request.actor,
            delta=request.delta if request.HasField("delta") else None,
            set_on_hand=request.set_on_hand if request.HasField("set_on_hand") else None,
            note=request.note,
            idempotency_key=request.idempotency_key if request.HasField("idempotency_key") else None,
        )
        adjustment = await self.service.handle(command)
        return inventory_service_pb2.AdjustStockResponse(adjustment=adjustment_message(adjustment))

    async def CreateWarehouse(
        self, request: Any, context: Any
    ) -> inventory_service_pb2.CreateWarehouseResponse:
        warehouse = await self.service.handle(commands.CreateWarehouse(code=request.code, name=request.name))
        return inventory_service_pb2.CreateWarehouseResponse(warehouse=warehouse_message(warehouse))

    async def GetAvailability(
        self, request: Any, context: Any
    ) -> inventory_service_pb2.GetAvailabilityResponse:
        available = await self.service.queries.availability(list(request.skus))
        return inventory_service_pb2.GetAvailabilityResponse(available=available)

    async def ListWarehouses(
        self, request: Any, context: Any
    ) -> inventory_service_pb2.ListWarehousesResponse:
        found = await self.service.queries.warehouses()
        return inventory_service_pb2.ListWarehousesResponse(warehouses=[warehouse_message(w) for w in found])

    async def GetStockLevels(
        self, request: Any, context: Any
    ) -> inventory_service_pb2.GetStockLevelsResponse:
        found = await self.service.queries.stock(request.sku)
        return inventory_service_pb2.GetStockLevelsResponse(stock_levels=[stock_message(s) for s in found])


def registration(service: InventoryService) -> ServiceRegistration:
    """What `platform.grpc.server.GrpcServer` needs to serve the inventory."""
    return ServiceRegistration(
        name=SERVICE_NAME,
        servicer=InventoryServicer(service),
        add_to_server=inventory_service_pb2_grpc.add_InventoryServiceServicer_to_server,
    )
