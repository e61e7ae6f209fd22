"""Inventory types of the GraphQL API (staff)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from mercato.inventory.domain.model import AdjustmentReason
from mercato.inventory.service_layer.queries import StockView, WarehouseView

strawberry.enum(AdjustmentReason)


@strawberry.type
class Warehouse:
    id: strawberry.ID
    code: str
    name: str

    @classmethod
    def of(cls, view: WarehouseView) -> Warehouse:
        return cls(id=strawberry.ID(str(view.id)), code=view.code, name=view.name)


@strawberry.type(description="Units of one SKU in one warehouse.")
class StockLevel:
    sku: str
    warehouse_id: strawberry.ID
    warehouse_code: str
    on_hand: int
    reserved: int
    available: int

    @classmethod
    def of(cls, view: StockView) -> StockLevel:
        return cls(
            sku=view.sku,
            warehouse_id=strawberry.ID(str(view.warehouse_id)),
            warehouse_code=view.warehouse_code,
            on_hand=view.on_hand,
            reserved=view.reserved,
            available=view.available,
        )


@strawberry.type(description="One recorded stock change (the audit trail).")
class StockAdjustment:
    id: strawberry.ID
    sku: str
    warehouse_id: strawberry.ID
    delta: int
    on_hand_after: int
    reason: str
    note: str
    actor: str
    created_at: datetime | None = None
