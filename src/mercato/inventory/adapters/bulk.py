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

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

STOCK_COLUMNS = ("sku", "warehouse_id", "on_hand", "initial_only")

# The primary key is built after the COPY (one sorted build, not 100k's of single inserts); it also
# refuses a (SKU, warehouse) given twice in a file.
_STAGE = (
    "CREATE TEMP TABLE import_stock (sku text NOT NULL, warehouse_id uuid NOT NULL, "
    "on_hand integer NOT NULL, initial_only boolean NOT NULL) ON COMMIT DROP"
)
_INDEX_STAGE = (
    "ALTER TABLE import_stock ADD PRIMARY KEY (sku, warehouse_id)",
    "ANALYZE import_stock (sku, warehouse_id)",
)
# A row needs writing when it is missing and the count is not 0, or exists with another count (and
# the count is not only an initial one).
_NEEDS_WRITE = (
    "(s.sku IS NULL AND i.on_hand > 0) "
    "OR (s.sku IS NOT NULL AND NOT i.initial_only AND s.on_hand <> i.on_hand)"
)
# What each write changes (`before` is 0 for a new row). Computed once before the lock, and again
# after it only when existing rows were locked (their counts may have moved in between): a first
# import, whose rows are all new, joins its rows with the stock table once.
_CHANGES = (
    "CREATE TEMP TABLE import_changes ON COMMIT DROP AS SELECT i.sku, i.warehouse_id, "
    "s.sku IS NULL AS new, coalesce(s.on_hand, 0) AS before, i.on_hand AS after, "
    "coalesce(s.reserved, 0) AS reserved FROM import_stock i "
    f"LEFT JOIN inventory.stock s ON s.sku = i.sku AND s.warehouse_id = i.warehouse_id WHERE {_NEEDS_WRITE}"
)
_LOCK = text(
    "SELECT count(*) FROM (SELECT 1 FROM inventory.stock s "
    "WHERE s.sku IN (SELECT DISTINCT sku FROM import_changes) "
    "ORDER BY s.sku, s.warehouse_id FOR UPDATE) AS locked"
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
# After the write: each SKU whose units available the import moved, with its level and summed version,
# in SKU order, as JSON arrays of `batch` entries (one per event): 100k's of levels go into events
# without becoming Python rows first.
_LEVELS = text(
    "SELECT CAST(json_agg(json_build_object('sku', sku, 'available', available, 'version', version) "
    "ORDER BY sku) AS text) AS levels FROM (SELECT s.sku, sum(s.on_hand - s.reserved) AS available, "
    "sum(s.version) AS version, (row_number() OVER (ORDER BY s.sku) - 1) / :batch AS batch "
    "FROM inventory.stock s "
    "JOIN (SELECT sku, sum(after - before) AS delta FROM import_changes GROUP BY sku) c ON c.sku = s.sku "
    "GROUP BY s.sku, c.delta HAVING c.delta <> 0) levels GROUP BY batch ORDER BY batch"
)


@dataclass(frozen=True)
class StockWritten:
    rows: int
    adjustments: int  # counts recorded: COUNTED adjustments and the initial counts of new rows
    # {"sku", "available", "version"} of each SKU whose units available moved, in batches
    levels: list[list[dict[str, Any]]]


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
        await self.conn.execute(text(_CHANGES))
        if await self.conn.scalar(_LOCK):
            await self.conn.execute(text("DROP TABLE import_changes"))
            await self.conn.execute(text(_CHANGES))
        return [
            (r.sku, f"{r.code}: on hand cannot drop below the {r.reserved} units reserved (asked {r.after})")
            for r in await self.conn.execute(_BELOW_RESERVED)
        ]

    async def write(self, *, import_id: uuid.UUID, actor: str, note: str, batch: int) -> StockWritten:
        counts = (
            await self.conn.execute(_WRITE, {"import_id": import_id, "actor": actor, "note": note})
        ).one()
        levels = [orjson.loads(r) for r in (await self.conn.execute(_LEVELS, {"batch": batch})).scalars()]
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
