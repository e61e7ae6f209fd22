"""Inventory in the GraphQL API: staff queries of stock and warehouses, and the stock mutations."""

from __future__ import annotations

import strawberry

from mercato.gateway.graphql.core.auth import staff
from mercato.gateway.graphql.core.errors import payload_errors
from mercato.gateway.graphql.core.ids import parse_id
from mercato.gateway.graphql.inventory.types import StockAdjustment, StockLevel, Warehouse
from mercato.inventory import AdjustStock, CreateWarehouse
from mercato.inventory.domain.errors import StockAdjustErrorCode, WarehouseCreateErrorCode
from mercato.inventory.domain.model import AdjustmentReason
from mercato.platform.auth import Permission
from mercato.platform.errors import ClientError, recode

for _codes in (WarehouseCreateErrorCode, StockAdjustErrorCode):
    strawberry.enum(_codes)


@strawberry.type
class WarehouseCreateError:
    field: str | None
    code: WarehouseCreateErrorCode
    message: str


@strawberry.type
class StockAdjustError:
    field: str | None
    code: StockAdjustErrorCode
    message: str


@strawberry.type
class WarehouseCreatePayload:
    warehouse: Warehouse | None = None
    errors: list[WarehouseCreateError] = strawberry.field(default_factory=list)


@strawberry.type
class StockAdjustPayload:
    adjustment: StockAdjustment | None = None
    stock: list[StockLevel] = strawberry.field(default_factory=list)
    errors: list[StockAdjustError] = strawberry.field(default_factory=list)


@strawberry.input
class WarehouseCreateInput:
    code: str
    name: str


@strawberry.input(
    description="Give exactly one of `delta` (units added or removed) and `setOnHand` (a count)."
)
class StockAdjustInput:
    sku: str
    warehouse_id: strawberry.ID
    reason: AdjustmentReason
    delta: int | None = None
    set_on_hand: int | None = None
    note: str = ""
    idempotency_key: str | None = strawberry.field(
        default=None, description="Retrying with the same key applies the adjustment once."
    )


@strawberry.type
class InventoryQueries:
    @strawberry.field(description="Staff: every warehouse.")
    async def warehouses(self, info: strawberry.Info) -> list[Warehouse]:
        staff(info, Permission.INVENTORY_READ)
        return [Warehouse.of(w) for w in await info.context.clients.inventory.warehouses()]

    @strawberry.field(description="Staff: stock of one SKU in each warehouse.")
    async def stock_levels(self, info: strawberry.Info, sku: str) -> list[StockLevel]:
        staff(info, Permission.INVENTORY_READ)
        return [StockLevel.of(s) for s in await info.context.clients.inventory.stock(sku[:200])]


@strawberry.type
class InventoryMutations:
    @strawberry.mutation
    async def warehouse_create(
        self, info: strawberry.Info, input: WarehouseCreateInput
    ) -> WarehouseCreatePayload:
        staff(info, Permission.INVENTORY_WRITE)
        try:
            created = await info.context.clients.inventory.create_warehouse(
                CreateWarehouse(code=input.code, name=input.name)
            )
        except ClientError as exc:
            errors = payload_errors(recode(exc, WarehouseCreateErrorCode), WarehouseCreateError)
            return WarehouseCreatePayload(errors=errors)
        return WarehouseCreatePayload(
            warehouse=Warehouse(id=strawberry.ID(str(created.id)), code=created.code, name=created.name)
        )

    @strawberry.mutation
    async def stock_adjust(self, info: strawberry.Info, input: StockAdjustInput) -> StockAdjustPayload:
        actor = staff(info, Permission.INVENTORY_WRITE)
        client = info.context.clients.inventory
        try:
            adjustment = await client.adjust(
                AdjustStock(
                    sku=input.sku,
                    warehouse_id=parse_id(input.warehouse_id, "warehouseId"),
                    reason=input.reason.value,
                    actor=actor.email,
                    delta=input.delta,
                    set_on_hand=input.set_on_hand,
                    note=input.note,
                    idempotency_key=input.idempotency_key,
                )
            )
        except ClientError as exc:
            return StockAdjustPayload(
                errors=payload_errors(recode(exc, StockAdjustErrorCode), StockAdjustError)
            )
        return StockAdjustPayload(
            adjustment=StockAdjustment(
                id=strawberry.ID(str(adjustment.id)),
                sku=adjustment.sku,
                warehouse_id=strawberry.ID(str(adjustment.warehouse_id)),
                delta=adjustment.delta,
                on_hand_after=adjustment.on_hand_after,
                reason=str(adjustment.reason),
                note=adjustment.note,
                actor=adjustment.actor,
            ),
            stock=[StockLevel.of(s) for s in await client.stock(adjustment.sku)],
        )
