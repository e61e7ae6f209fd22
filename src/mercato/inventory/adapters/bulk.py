"""The inventory's bulk writes and reads: stock counts set from a file, set-based, with the audit trail.

Runs on a connection (and transaction) the caller opened; statements here touch `inventory` only.

A count is a COUNTED adjustment of the row (`AdjustStock(set_on_hand=...)` in bulk): the row is
created when missing, its version bumped once, an adjustment recorded, and the per-SKU level (units
available over all warehouses, summed row version) read back for the level events. Lock order as in
`locks.py`: every existing row of a changed SKU, in one statement ordered by (sku, warehouse_id),
before any write; rows that need no change are neither locked nor written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

STOCK_COLUMNS = ("sku", "warehouse_id", "on_hand", "initial_only")

_STAGE = (
    "CREATE TEMP TABLE import_stock (sku text NOT NULL, warehouse_id uuid NOT NULL, "
    "on_hand integer NOT NULL, initial_only boolean NOT NULL, PRIMARY KEY (sku, warehouse_id)) ON COMMIT DROP"
)
# A row needs writing when it is missing and the count is not 0, or exists with another count (and
# the count is not only an initial one).
_NEEDS_WRITE = (
    "(s.sku IS NULL AND i.on_hand > 0) "
    "OR (s.sku IS NOT NULL AND NOT i.initial_only AND s.on_hand <> i.on_hand)"
)
_TOUCHED = (
    "CREATE TEMP TABLE import_touched ON COMMIT DROP AS SELECT DISTINCT i.sku FROM import_stock i "
    f"LEFT JOIN inventory.stock s ON s.sku = i.sku AND s.warehouse_id = i.warehouse_id WHERE {_NEEDS_WRITE}"
)
_LOCK = (
    "SELECT count(*) FROM (SELECT 1 FROM inventory.stock s WHERE s.sku IN (SELECT sku FROM import_touched) "
    "ORDER BY s.sku, s.warehouse_id FOR UPDATE) AS locked"
)
# With the rows locked, what each write changes (`before` is 0 for a new row).
_CHANGES = (
    "CREATE TEMP TABLE import_changes ON COMMIT DROP AS SELECT i.sku, i.warehouse_id, "
    "coalesce(s.on_hand, 0) AS before, i.on_hand AS after, coalesce(s.reserved, 0) AS reserved "
    "FROM import_stock i JOIN import_touched t ON t.sku = i.sku "
    f"LEFT JOIN inventory.stock s ON s.sku = i.sku AND s.warehouse_id = i.warehouse_id WHERE {_NEEDS_WRITE}"
)
_BELOW_RESERVED = text(
    "SELECT c.sku, w.code, c.after, c.reserved FROM import_changes c "
    "JOIN inventory.warehouses w ON w.id = c.warehouse_id WHERE c.after < c.reserved ORDER BY c.sku, w.code"
)
_WRITE = text(
    "WITH w AS (INSERT INTO inventory.stock AS s (sku, warehouse_id, on_hand, reserved, version) "
    "SELECT sku, warehouse_id, after, 0, 1 FROM import_changes ORDER BY sku, warehouse_id "
    "ON CONFLICT (sku, warehouse_id) DO UPDATE SET on_hand = excluded.on_hand, version = s.version + 1, "
    "updated_at = now() RETURNING 1), "
    "a AS (INSERT INTO inventory.adjustments (id, sku, warehouse_id, delta, on_hand_after, set_on_hand, "
    "reason, note, actor) SELECT gen_random_uuid(), sku, warehouse_id, after - before, after, after, "
    "'COUNTED', :note, :actor FROM import_changes RETURNING 1) "
    "SELECT (SELECT count(*) FROM w) AS rows, (SELECT count(*) FROM a) AS adjustments"
)
# After the write: each changed SKU's level and summed version, and how much the import moved it.
_LEVELS = text(
    "SELECT s.sku, CAST(sum(s.on_hand - s.reserved) AS bigint) AS available, "
    "CAST(sum(s.version) AS bigint) AS version, c.delta FROM inventory.stock s "
    "JOIN (SELECT sku, sum(after - before) AS delta FROM import_changes GROUP BY sku) c ON c.sku = s.sku "
    "GROUP BY s.sku, c.delta ORDER BY s.sku"
)


@dataclass(frozen=True)
class Level:
    sku: str
    before: int
    available: int
    version: int


@dataclass(frozen=True)
class StockWritten:
    rows: int
    adjustments: int
    levels: list[Level]  # SKUs whose units available moved


class InventoryBulk:
    # The tables an import writes many rows of: their planner statistics go stale with it.
    WRITTEN = ("inventory.stock", "inventory.adjustments")

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def warehouses(self) -> dict[str, uuid.UUID]:
        rows = await self.conn.execute(text("SELECT code, id FROM inventory.warehouses"))
        return {r.code: r.id for r in rows}

    async def stage(self, rows: Sequence[tuple[str, uuid.UUID, int, bool]]) -> list[tuple[str, str]]:
        """COPY the counts (`STOCK_COLUMNS`) and lock the rows that change; returns (SKU, reason) for
        counts below the units reserved (the `BelowReserved` rule), which the caller must refuse."""
        await self.conn.execute(text(_STAGE))
        raw = (await self.conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.copy_records_to_table("import_stock", records=rows, columns=STOCK_COLUMNS)
        await self.conn.execute(text("ANALYZE import_stock"))
        await self.conn.execute(text(_TOUCHED))
        await self.conn.execute(text(_LOCK))
        await self.conn.execute(text(_CHANGES))
        return [
            (r.sku, f"{r.code}: on hand cannot drop below the {r.reserved} units reserved (asked {r.after})")
            for r in await self.conn.execute(_BELOW_RESERVED)
        ]

    async def write(self, *, actor: str, note: str) -> StockWritten:
        counts = (await self.conn.execute(_WRITE, {"actor": actor, "note": note})).one()
        levels = [
            Level(r.sku, int(r.available) - int(r.delta), int(r.available), int(r.version))
            for r in await self.conn.execute(_LEVELS)
            if r.delta != 0
        ]
        return StockWritten(int(counts.rows), int(counts.adjustments), levels)

    async def export_stock(self, skus: Sequence[str]) -> dict[str, list[tuple[str, int]]]:
        """On hand per warehouse code of each SKU that has stock rows."""
        rows = await self.conn.execute(
            text(
                "SELECT s.sku, w.code, s.on_hand FROM inventory.stock s "
                "JOIN inventory.warehouses w ON w.id = s.warehouse_id "
                "WHERE s.sku = ANY(CAST(:skus AS text[])) ORDER BY s.sku, w.code"
            ),
            {"skus": list(skus)},
        )
        found: dict[str, list[tuple[str, int]]] = {}
        for r in rows:
            found.setdefault(r.sku, []).append((r.code, r.on_hand))
        return found

    async def export_warehouses(self) -> list[Any]:
        return list(
            (await self.conn.execute(text("SELECT code, name FROM inventory.warehouses ORDER BY code"))).all()
        )
