"""Read side: plain SELECTs on the database, no unit of work, no locks. Each returns frozen views.

Every function runs exactly one statement, whatever the number of SKUs asked for.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from mercato.platform.db import Database


@dataclass(frozen=True)
class WarehouseView:
    id: uuid.UUID
    code: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class StockView:
    """One (sku, warehouse) row."""

    sku: str
    warehouse_id: uuid.UUID
    warehouse_code: str
    on_hand: int
    reserved: int
    available: int
    version: int


@dataclass(frozen=True)
class SkuLevelView:
    """One SKU over all its warehouses, as its `stock_level_changed` events describe it: units
    available (sum of on_hand - reserved) and the summed row version (strictly increasing per SKU)."""

    sku: str
    available: int
    version: int


@dataclass(frozen=True)
class AllocationView:
    sku: str
    warehouse_id: uuid.UUID
    quantity: int


@dataclass(frozen=True)
class ReservationView:
    id: uuid.UUID
    reference: str
    status: str
    expires_at: datetime
    created_at: datetime
    release_reason: str | None
    allocations: tuple[AllocationView, ...]


@dataclass(frozen=True)
class AdjustmentView:
    id: uuid.UUID
    sku: str
    warehouse_id: uuid.UUID
    delta: int
    on_hand_after: int
    reason: str
    note: str
    actor: str
    idempotency_key: str | None
    created_at: datetime


_AVAILABILITY = text(
    "SELECT sku, CAST(sum(on_hand - reserved) AS bigint) AS available FROM inventory.stock "
    "WHERE sku = ANY(CAST(:skus AS text[])) GROUP BY sku"
)
# Keyset over SKUs (the stock table's unique (sku, warehouse_id) index): a page of SKU levels.
_LEVELS = text(
    "SELECT sku, CAST(sum(on_hand - reserved) AS bigint) AS available, "
    "CAST(sum(version) AS bigint) AS version FROM inventory.stock WHERE sku > :after "
    "GROUP BY sku ORDER BY sku LIMIT :limit"
)
_STOCK = text(
    "SELECT s.sku, s.warehouse_id, w.code AS warehouse_code, s.on_hand, s.reserved, s.version "
    "FROM inventory.stock s JOIN inventory.warehouses w ON w.id = s.warehouse_id "
    "WHERE s.sku = :sku ORDER BY w.code"
)
_WAREHOUSES = text("SELECT id, code, name, created_at FROM inventory.warehouses ORDER BY code")
# Same columns as `adapters.locks.RESERVATION_COLUMNS`, without the lock; repeated here because
# the service layer does not import adapters.
_RESERVATION = text(
    "SELECT r.id, r.reference, r.status, r.expires_at, r.created_at, r.release_reason, "
    "(SELECT coalesce(json_agg(json_build_object('sku', a.sku, 'warehouse_id', a.warehouse_id, "
    "'quantity', a.quantity) ORDER BY a.sku, a.warehouse_id), CAST('[]' AS json)) "
    "FROM inventory.reservation_allocations a WHERE a.reservation_id = r.id) AS allocations "
    "FROM inventory.reservations r WHERE r.id = :id"
)
# The audit trail: the SKU's adjustments, and the initial count of each stock row a bulk import
# created (recorded once per import in `stock_imports`; shown as the COUNTED adjustment it stands
# for, with an id made of the import's, the SKU and the warehouse, stable and unique per entry).
_ADJUSTMENTS = text(
    "SELECT id, sku, warehouse_id, delta, on_hand_after, reason, note, actor, idempotency_key, created_at "
    "FROM inventory.adjustments WHERE sku = :sku UNION ALL "
    "SELECT CAST(md5(i.id::text || s.sku || s.warehouse_id::text) AS uuid), s.sku, s.warehouse_id, "
    "s.initial, s.initial, 'COUNTED', i.note, i.actor, NULL, i.created_at "
    "FROM inventory.stock s JOIN inventory.stock_imports i ON i.id = s.import_id WHERE s.sku = :sku "
    "ORDER BY created_at DESC, id LIMIT :limit"
)


async def availability(db: Database, skus: Sequence[str]) -> dict[str, int]:
    """Units sellable now per SKU, summed over warehouses; a SKU without stock rows has 0."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    async with db.connect() as conn:
        rows = (await conn.execute(_AVAILABILITY, {"skus": wanted})).all()
    found = {r.sku: int(r.available) for r in rows}
    return {sku: found.get(sku, 0) for sku in wanted}


async def sku_levels(db: Database, after: str, limit: int) -> list[SkuLevelView]:
    """The levels of up to `limit` SKUs that have stock rows, the first after `after` in SKU order:
    what a reader of the level events rebuilds its view from (`mercato catalog rebuild-availability`)."""
    async with db.connect() as conn:
        rows = (await conn.execute(_LEVELS, {"after": after, "limit": limit})).all()
    return [SkuLevelView(r.sku, int(r.available), int(r.version)) for r in rows]


async def stock(db: Database, sku: str) -> list[StockView]:
    async with db.connect() as conn:
        rows = (await conn.execute(_STOCK, {"sku": sku})).all()
    return [
        StockView(
            sku=r.sku,
            warehouse_id=r.warehouse_id,
            warehouse_code=r.warehouse_code,
            on_hand=r.on_hand,
            reserved=r.reserved,
            available=r.on_hand - r.reserved,
            version=r.version,
        )
        for r in rows
    ]


async def warehouses(db: Database) -> list[WarehouseView]:
    async with db.connect() as conn:
        rows = (await conn.execute(_WAREHOUSES)).all()
    return [WarehouseView(id=r.id, code=r.code, name=r.name, created_at=r.created_at) for r in rows]


async def reservation(db: Database, reservation_id: uuid.UUID) -> ReservationView | None:
    async with db.connect() as conn:
        row = (await conn.execute(_RESERVATION, {"id": reservation_id})).first()
    if row is None:
        return None
    return ReservationView(
        id=row.id,
        reference=row.reference,
        status=row.status,
        expires_at=row.expires_at,
        created_at=row.created_at,
        release_reason=row.release_reason,
        allocations=tuple(
            AllocationView(
                sku=a["sku"], warehouse_id=uuid.UUID(str(a["warehouse_id"])), quantity=int(a["quantity"])
            )
            for a in row.allocations
        ),
    )


async def adjustments(db: Database, sku: str, limit: int = 50) -> list[AdjustmentView]:
    """The SKU's audit trail, newest first."""
    async with db.connect() as conn:
        rows = (await conn.execute(_ADJUSTMENTS, {"sku": sku, "limit": max(1, min(limit, 500))})).all()
    return [
        AdjustmentView(
            id=r.id,
            sku=r.sku,
            warehouse_id=r.warehouse_id,
            delta=r.delta,
            on_hand_after=r.on_hand_after,
            reason=r.reason,
            note=r.note,
            actor=r.actor,
            idempotency_key=r.idempotency_key,
            created_at=r.created_at,
        )
        for r in rows
    ]


class InventoryQueries:
    """The query functions bound to one database (what `InventoryService.queries` is)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def availability(self, skus: Sequence[str]) -> dict[str, int]:
        return await availability(self.db, skus)

    async def stock(self, sku: str) -> list[StockView]:
        return await stock(self.db, sku)

    async def sku_levels(self, after: str, limit: int) -> list[SkuLevelView]:
        return await sku_levels(self.db, after, limit)

    async def warehouses(self) -> list[WarehouseView]:
        return await warehouses(self.db)

    async def reservation(self, reservation_id: uuid.UUID) -> ReservationView | None:
        return await reservation(self.db, reservation_id)

    async def adjustments(self, sku: str, limit: int = 50) -> list[AdjustmentView]:
        return await adjustments(self.db, sku, limit)
