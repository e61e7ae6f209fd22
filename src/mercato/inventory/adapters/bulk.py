"""The inventory's bulk writes and reads: stock counts set from a file, set-based, with the audit trail.

Runs on a connection (and transaction) the caller opened; statements here touch `inventory` only.

A count on an existing row is a COUNTED adjustment of the row (`AdjustStock(set_on_hand=...)` in bulk):
its version bumped once, an adjustment recorded. A count that creates a row is the row's `initial`
count, with the import's one `stock_imports` row as its audit record (who, when, the note): a first
import of 100k products writes one audit row, not one adjustment per stock row (each with its FK
check and index entries: two thirds of the import's database time). `mercato verify` checks
initial + adjustments - committed = on hand, and the SKU's audit trail lists the initial count.
The per-SKU level (units available over all warehouses, summed row version) is read back for the
level events. Lock order as in `locks.py`: every existing row of a changed SKU, in one statement
ordered by (sku, warehouse_id), before any write; rows that need no change are neither locked nor
written. New rows are plain INSERTs (no speculative insertion): a row that a concurrent adjustment
creates between the lock and the write fails the import as a whole (nothing written; run it again).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

STOCK_COLUMNS = ("sku", "warehouse_id", "on_hand", "initial_only")

# The primary key is built after the COPY (one sorted build, not 100k's of single inserts); it also
# refuses a (SKU, warehouse) given twice in a file.
_STAGE = (
    "CREATE TEMP TABLE import_stock (sku text NOT NULL, warehouse_id uuid NOT NULL, "
    "on_hand integer NOT NULL, initial_only boolean NOT NULL) ON COMMIT DROP"
)
_INDEX_STAGE = ("ALTER TABLE import_stock ADD PRIMARY KEY (sku, warehouse_id)", "ANALYZE import_stock")
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
    "s.sku IS NULL AS new, coalesce(s.on_hand, 0) AS before, i.on_hand AS after, "
    "coalesce(s.reserved, 0) AS reserved FROM import_stock i JOIN import_touched t ON t.sku = i.sku "
    f"LEFT JOIN inventory.stock s ON s.sku = i.sku AND s.warehouse_id = i.warehouse_id WHERE {_NEEDS_WRITE}"
)
_BELOW_RESERVED = text(
    "SELECT c.sku, w.code, c.after, c.reserved FROM import_changes c "
    "JOIN inventory.warehouses w ON w.id = c.warehouse_id WHERE NOT c.new AND c.after < c.reserved "
    "ORDER BY c.sku, w.code"
)
# New rows start from their initial count (version 1, as a first adjustment would leave them), audited
# by the import's one `stock_imports` row (none when it creates no row); existing rows are updated,
# each with its COUNTED adjustment.
_WRITE = text(
    "WITH b AS (INSERT INTO inventory.stock_imports (id, actor, note, rows) "
    "SELECT CAST(:import_id AS uuid), :actor, :note, count(*) FROM import_changes WHERE new "
    "HAVING count(*) > 0), "
    "n AS (INSERT INTO inventory.stock (sku, warehouse_id, on_hand, reserved, version, initial, import_id) "
    "SELECT sku, warehouse_id, after, 0, 1, after, CAST(:import_id AS uuid) FROM import_changes WHERE new "
    "ORDER BY sku, warehouse_id RETURNING 1), "
    "u AS (UPDATE inventory.stock s SET on_hand = c.after, version = s.version + 1, updated_at = now() "
    "FROM import_changes c WHERE NOT c.new AND s.sku = c.sku AND s.warehouse_id = c.warehouse_id "
    "RETURNING 1), "
    "a AS (INSERT INTO inventory.adjustments (id, sku, warehouse_id, delta, on_hand_after, set_on_hand, "
    "reason, note, actor) SELECT gen_random_uuid(), sku, warehouse_id, after - before, after, after, "
    "'COUNTED', :note, :actor FROM import_changes WHERE NOT new RETURNING 1) "
    "SELECT (SELECT count(*) FROM n) AS created, (SELECT count(*) FROM u) AS updated, "
    "(SELECT count(*) FROM a) AS adjustments"
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
    adjustments: int  # counts recorded: COUNTED adjustments and the initial counts of new rows
    levels: list[Level]  # SKUs whose units available moved


class InventoryBulk:
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
        for statement in _INDEX_STAGE:
            await self.conn.execute(text(statement))
        await self.conn.execute(text(_TOUCHED))
        await self.conn.execute(text(_LOCK))
        await self.conn.execute(text(_CHANGES))
        return [
            (r.sku, f"{r.code}: on hand cannot drop below the {r.reserved} units reserved (asked {r.after})")
            for r in await self.conn.execute(_BELOW_RESERVED)
        ]

    async def write(self, *, import_id: uuid.UUID, actor: str, note: str) -> StockWritten:
        counts = (
            await self.conn.execute(_WRITE, {"import_id": import_id, "actor": actor, "note": note})
        ).one()
        levels = [
            Level(r.sku, int(r.available) - int(r.delta), int(r.available), int(r.version))
            for r in await self.conn.execute(_LEVELS)
            if r.delta != 0
        ]
        created = int(counts.created)
        return StockWritten(created + int(counts.updated), created + int(counts.adjustments), levels)

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
