"""The inventory's bulk writes and reads: stock counts set from a file, set-based, with the audit trail.

Runs on a connection (and transaction) the caller opened; statements here touch `inventory` only.

A count on an existing row is a COUNTED adjustment of the row (`AdjustStock(set_on_hand=...)` in bulk):
its version bumped once, an adjustment recorded. A count that creates a row is the row's `initial`
count, with the import's one `stock_imports` row as its audit record (who, when, the note): a first
import of 100k products writes one audit row, not one adjustment per stock row (each with its FK
check and index entries: two thirds of the import's database time). `mercato verify` checks
initial + adjustments - committed = on hand, and the SKU's audit trail lists the initial count.

Two paths. The rows of a SKU that has no stock row yet (all of a first import's) are new: COPYed
straight into `inventory.stock`, nothing to compare or lock, their levels known without a query.
The counts of SKUs that have rows are COPYed into a temporary table and compared set-based; lock
order as in `locks.py`: every existing row of a changed SKU, in one statement ordered by (sku,
warehouse_id), before any write; rows that need no change are neither locked nor written. The
per-SKU level (units available over all warehouses, summed row version) is read back for the level
events. New rows are plain INSERTs (no speculative insertion): a row that a concurrent adjustment
creates first fails the import as a whole (nothing written; run it again).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

STOCK_COLUMNS = ("sku", "warehouse_id", "on_hand", "initial_only")
NEW_ROW_COLUMNS = ("sku", "warehouse_id", "on_hand", "reserved", "version", "initial", "import_id")

# The SKUs of the file that have stock rows (any warehouse): their counts are compared set-based.
_KNOWN_SKUS = text("SELECT DISTINCT sku FROM inventory.stock WHERE sku = ANY(CAST(:skus AS text[]))")

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
# What each write changes (`before` is 0 for a new row). Computed before the lock, to know what to
# lock, and again once rows were locked (their counts may have moved in between).
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
_AUDIT = text(
    "INSERT INTO inventory.stock_imports (id, actor, note, rows) VALUES (:import_id, :actor, :note, :rows)"
)
_STAGED_NEW = text("SELECT count(*) FROM import_changes WHERE new")
# Staged rows: new ones start from their initial count (version 1, as a first adjustment would leave
# them); existing ones are updated, each with its COUNTED adjustment.
_WRITE = text(
    f"WITH n AS (INSERT INTO inventory.stock ({', '.join(NEW_ROW_COLUMNS)}) "
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
# After the write: each staged SKU whose units available the import moved, with its level and summed
# version, as one JSON array (100k's of levels go into events without becoming Python rows first).
_LEVELS = text(
    "SELECT CAST(coalesce(json_agg(json_build_object('sku', sku, 'available', available, "
    "'version', version)), '[]') AS text) FROM (SELECT s.sku, sum(s.on_hand - s.reserved) AS available, "
    "sum(s.version) AS version FROM inventory.stock s "
    "JOIN (SELECT sku, sum(after - before) AS delta FROM import_changes GROUP BY sku) c ON c.sku = s.sku "
    "GROUP BY s.sku, c.delta HAVING c.delta <> 0) levels"
)


@dataclass(frozen=True)
class StockWritten:
    rows: int
    adjustments: int  # counts recorded: COUNTED adjustments and the initial counts of new rows
    levels: list[dict[str, Any]]  # {"sku", "available", "version"} per SKU whose units moved, by SKU


class InventoryBulk:
    # The tables an import writes many rows of: their planner statistics go stale with it.
    WRITTEN = ("inventory.stock", "inventory.adjustments")

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.new_rows: list[tuple[str, uuid.UUID, int]] = []  # rows of SKUs without stock rows
        self.staged = False

    async def warehouses(self) -> dict[str, uuid.UUID]:
        rows = await self.conn.execute(text("SELECT code, id FROM inventory.warehouses"))
        return {r.code: r.id for r in rows}

    async def stage(self, rows: Sequence[tuple[str, uuid.UUID, int, bool]]) -> list[tuple[str, str]]:
        """Sort the counts (`STOCK_COLUMNS`): those of SKUs without stock rows wait for `write`; the
        others are COPYed into a temporary table, compared, and the rows that change locked. Returns
        (SKU, reason) for counts below the units reserved (the `BelowReserved` rule), which the caller
        must refuse."""
        known = set((await self.conn.execute(_KNOWN_SKUS, {"skus": list({r[0] for r in rows})})).scalars())
        # A count of 0 for a SKU without rows creates nothing (as `_NEEDS_WRITE` says for staged ones).
        self.new_rows = [(sku, wh, units) for sku, wh, units, _ in rows if units > 0 and sku not in known]
        staged = [r for r in rows if r[0] in known] if known else []
        if not staged:
            return []
        self.staged = True
        await self.conn.execute(text(_STAGE))
        raw = (await self.conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.copy_records_to_table("import_stock", records=staged, columns=STOCK_COLUMNS)
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

    async def write(self, *, import_id: uuid.UUID, actor: str, note: str) -> StockWritten:
        """Create and update the rows `stage` sorted, audited as `actor` with `note`; the rows created
        name `import_id`, which is also the id of their audit row."""
        created = len(self.new_rows) + (int(await self.conn.scalar(_STAGED_NEW)) if self.staged else 0)
        if created:
            audit = {"import_id": import_id, "actor": actor, "note": note, "rows": created}
            await self.conn.execute(_AUDIT, audit)
        if self.new_rows:
            raw = (await self.conn.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.copy_records_to_table(
                "stock",
                schema_name="inventory",
                columns=NEW_ROW_COLUMNS,
                records=[(sku, wh, units, 0, 1, units, import_id) for sku, wh, units in self.new_rows],
            )
        levels = _new_levels(self.new_rows)
        updated = adjustments = 0
        if self.staged:
            counts = (
                await self.conn.execute(_WRITE, {"import_id": import_id, "actor": actor, "note": note})
            ).one()
            updated, adjustments = int(counts.updated), int(counts.adjustments)
            staged_levels = orjson.loads(await self.conn.scalar(_LEVELS))
            if staged_levels:
                levels = sorted([*levels, *staged_levels], key=itemgetter("sku"))
        return StockWritten(created + updated, created + adjustments, levels)

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


def _new_levels(rows: Sequence[tuple[str, uuid.UUID, int]]) -> list[dict[str, Any]]:
    """The level of each SKU whose rows are all new: the sum of its counts, one version per row."""
    levels: dict[str, list[int]] = {}
    for sku, _, units in rows:
        level = levels.setdefault(sku, [0, 0])
        level[0] += units
        level[1] += 1
    return [{"sku": sku, "available": levels[sku][0], "version": levels[sku][1]} for sku in sorted(levels)]
