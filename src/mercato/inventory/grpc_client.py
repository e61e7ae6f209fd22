"""`InventoryClient` over gRPC: the same Protocol, return types and typed errors as in process.

Retries (see `platform.grpc.client`) are allowed where the inventory deduplicates: reads, `reserve`
(the reference is its idempotency key), `commit`/`release` (idempotent by reservation id) and
`adjust` when it carries an idempotency key. `create_warehouse` and a keyless `adjust` run once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from mercato._gen.mercato.inventory.v1 import inventory_pb2, inventory_service_pb2, inventory_service_pb2_grpc
from mercato.inventory.domain import commands, rules
from mercato.inventory.domain.errors import (
    CommitReservationErrorCode,
    ReleaseReservationErrorCode,
    ReserveStockErrorCode,
    StockAdjustErrorCode,
    WarehouseCreateErrorCode,
)
from mercato.inventory.domain.model import Adjustment, Reservation, ReservationStatus, Warehouse
from mercato.inventory.domain.stock import Allocation
from mercato.inventory.service_layer.queries import StockView, WarehouseView
from mercato.platform.errors import MercatoError
from mercato.platform.grpc.client import CallPolicy, ServiceCaller
from mercato.platform.grpc.convert import from_timestamp

TARGET = "inventory"
# Domain classes the inventory raises, so the client re-raises the very class (InsufficientStock, ...).
KNOWN_ERRORS: tuple[type[MercatoError], ...] = (
    rules.DuplicateWarehouseCode,
    rules.WarehouseNotFound,
    rules.InsufficientStock,
    rules.BelowReserved,
    rules.IdempotencyKeyReused,
    rules.ReservationNotFound,
    rules.ReservationNotActive,
)


def _reason_value(reason: str) -> str:
    # An unknown reason goes as UNSPECIFIED; the server refuses it exactly as the model would.
    name = f"ADJUSTMENT_REASON_{reason}"
    return (
        name
        if name in inventory_pb2.AdjustmentReason.DESCRIPTOR.values_by_name
        else "ADJUSTMENT_REASON_UNSPECIFIED"
    )


def adjustment(message: inventory_pb2.Adjustment) -> Adjustment:
    return Adjustment(
        id=uuid.UUID(message.id),
        sku=message.sku,
        warehouse_id=uuid.UUID(message.warehouse_id),
        delta=message.delta,
        on_hand_after=message.on_hand_after,
        reason=inventory_pb2.AdjustmentReason.Name(message.reason).removeprefix("ADJUSTMENT_REASON_"),
        note=message.note,
        actor=message.actor,
        idempotency_key=message.idempotency_key if message.HasField("idempotency_key") else None,
        set_on_hand=message.set_on_hand if message.HasField("set_on_hand") else None,
    )


def reservation(message: inventory_pb2.Reservation) -> Reservation:
    status = inventory_pb2.ReservationStatus.Name(message.status).removeprefix("RESERVATION_STATUS_")
    return Reservation(
        id=uuid.UUID(message.id),
        reference=message.reference,
        status=ReservationStatus(status),
        expires_at=from_timestamp(message.expires_at),
        allocations=tuple(
            Allocation(sku=a.sku, warehouse_id=uuid.UUID(a.warehouse_id), quantity=a.quantity)
            for a in message.allocations
        ),
        release_reason=message.release_reason if message.HasField("release_reason") else None,
    )


class GrpcInventoryClient:
    """`InventoryClient` calling an inventory service through `channel`."""

    def __init__(
        self, channel: Any, *, service: str, secret: str | None, policy: CallPolicy | None = None
    ) -> None:
        # The generated stub is untyped; its methods are wrapped by ServiceCaller.call, which is typed.
        self._stub = inventory_service_pb2_grpc.InventoryServiceStub(channel)  # type: ignore[no-untyped-call]
        self._caller = ServiceCaller(
            service=service, target_name=TARGET, secret=secret, policy=policy, known_errors=KNOWN_ERRORS
        )

    async def create_warehouse(self, cmd: commands.CreateWarehouse) -> Warehouse:
        request = inventory_service_pb2.CreateWarehouseRequest(code=cmd.code, name=cmd.name)
        reply = await self._caller.call(
            self._stub.CreateWarehouse, request, retryable=False, codes=WarehouseCreateErrorCode
        )
        return Warehouse(
            id=uuid.UUID(reply.warehouse.id), code=reply.warehouse.code, name=reply.warehouse.name
        )

    async def adjust(self, cmd: commands.AdjustStock) -> Adjustment:
        request = inventory_service_pb2.AdjustStockRequest(
            sku=cmd.sku,
            warehouse_id=str(cmd.warehouse_id),
            reason=_reason_value(cmd.reason),
            actor=cmd.actor,
            delta=cmd.delta,
            set_on_hand=cmd.set_on_hand,
            note=cmd.note,
            idempotency_key=cmd.idempotency_key,
        )
        reply = await self._caller.call(
            self._stub.AdjustStock,
            request,
            retryable=cmd.idempotency_key is not None,
            codes=StockAdjustErrorCode,
        )
        return adjustment(reply.adjustment)

    async def reserve(self, cmd: commands.ReserveStock) -> Reservation:
        request = inventory_service_pb2.ReserveStockRequest(
            reference=cmd.reference,
            lines=[inventory_pb2.ReservationLine(sku=sku, quantity=quantity) for sku, quantity in cmd.lines],
            ttl_seconds=cmd.ttl_seconds,
        )
        reply = await self._caller.call(
            self._stub.ReserveStock, request, retryable=True, codes=ReserveStockErrorCode
        )
        return reservation(reply.reservation)

    async def commit(self, cmd: commands.CommitReservation) -> Reservation:
        request = inventory_service_pb2.CommitReservationRequest(reservation_id=str(cmd.reservation_id))
        reply = await self._caller.call(
            self._stub.CommitReservation, request, retryable=True, codes=CommitReservationErrorCode
        )
        return reservation(reply.reservation)

    async def release(self, cmd: commands.ReleaseReservation) -> Reservation:
        request = inventory_service_pb2.ReleaseReservationRequest(
            reservation_id=str(cmd.reservation_id), reason=cmd.reason
        )
        reply = await self._caller.call(
            self._stub.ReleaseReservation, request, retryable=True, codes=ReleaseReservationErrorCode
        )
        return reservation(reply.reservation)

    async def availability(self, skus: Sequence[str]) -> dict[str, int]:
        request = inventory_service_pb2.GetAvailabilityRequest(skus=list(skus))
        reply = await self._caller.call(self._stub.GetAvailability, request, retryable=True)
        return dict(reply.available)

    async def warehouses(self) -> list[WarehouseView]:
        reply = await self._caller.call(
            self._stub.ListWarehouses, inventory_service_pb2.ListWarehousesRequest(), retryable=True
        )
        return [
            WarehouseView(
                id=uuid.UUID(w.id), code=w.code, name=w.name, created_at=from_timestamp(w.created_at)
            )
            for w in reply.warehouses
        ]

    async def stock(self, sku: str) -> list[StockView]:
        request = inventory_service_pb2.GetStockLevelsRequest(sku=sku)
        reply = await self._caller.call(self._stub.GetStockLevels, request, retryable=True)
        return [
            StockView(
                sku=s.sku,
                warehouse_id=uuid.UUID(s.warehouse_id),
                warehouse_code=s.warehouse_code,
                on_hand=s.on_hand,
                reserved=s.reserved,
                available=s.available,
                version=s.version,
            )
            for s in reply.stock_levels
        ]
