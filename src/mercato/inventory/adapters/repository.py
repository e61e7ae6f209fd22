"""Loads and saves inventory data on the unit of work's connection, a few batched statements each.

Implements `service_layer.unit_of_work.InventoryStore`. Row locks are taken through `locks`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.inventory.adapters import locks
from mercato.inventory.adapters.tables import adjustments, warehouses
from mercato.inventory.domain.model import Adjustment, Reservation, Warehouse
from mercato.inventory.domain.stock import LevelMove, StockBook, StockInvariantBroken, StockLevel
from mercato.platform.sql import Sql

# Writing stock rows: every changed row in one statement, which also reads the level of each SKU it
# wrote (units available over all the SKU's rows, summed version) for the unit of work's events.
# `s.version = v.version - 1` re-checks that nobody changed the row since it was locked and read (the
# book bumps a row's version once per write); `written` counts the rows that passed.
#
# The levels are read here, in the writing statement, not from the book: the book holds the rows
# that existed when its locking statement started, and a row a concurrent adjustment inserts for a
# new warehouse (committed while this transaction waited for the lock) is not in it. This statement
# is younger, so it sees that row. Its snapshot does not see the statement's own UPDATE, hence the
# values written (`v`) take the place of the stored ones.
_STOCK_VALUES = (
    "v AS (SELECT * FROM unnest(CAST(:skus AS text[]), CAST(:warehouse_ids AS uuid[]), "
    "CAST(:on_hand AS integer[]), CAST(:reserved AS integer[]), CAST(:versions AS bigint[])) "
    "AS v(sku, warehouse_id, on_hand, reserved, version)), "
    "w AS (UPDATE inventory.stock AS s SET on_hand = v.on_hand, reserved = v.reserved, "
    "version = v.version, updated_at = now() FROM v "
    "WHERE s.sku = v.sku AND s.warehouse_id = v.warehouse_id AND s.version = v.version - 1 RETURNING 1)"
)
_STOCK_LEVELS = (
    "SELECT t.sku, CAST(sum(coalesce(v.on_hand, t.on_hand) - coalesce(v.reserved, t.reserved)) AS bigint) "
    "AS available, CAST(sum(coalesce(v.version, t.version)) AS bigint) AS version, "
    "(SELECT count(*) FROM w) AS written "
    "FROM inventory.stock AS t LEFT JOIN v ON v.sku = t.sku AND v.warehouse_id = t.warehouse_id "
    "WHERE t.sku IN (SELECT sku FROM v) GROUP BY t.sku ORDER BY t.sku"
)
# The statements of a reservation and its commit go straight to asyncpg (`platform.sql`).
_SAVE_STOCK = Sql(f"WITH {_STOCK_VALUES} {_STOCK_LEVELS}")

# Every reservation of a batch in one statement; those whose reference exists are left as they are
# (the ids returned are the rows inserted). A concurrent insert of the same reference waits here for
# the first transaction to end. Inserted in reference order, so two batches wait in one direction.
_OPEN_RESERVATIONS = Sql(
    "INSERT INTO inventory.reservations (id, reference, status, expires_at) "
    "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:references AS text[]), CAST(:statuses AS text[]), "
    "CAST(:expires_at AS timestamptz[])) ON CONFLICT (reference) DO NOTHING RETURNING id"
)

_STATUS_UPDATE = (
    "UPDATE inventory.reservations AS r SET status = n.status, release_reason = n.reason, updated_at = now() "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:reasons AS text[])) "
    "AS n(id, status, reason) WHERE r.id = n.id"
)
_SET_STATUS = Sql(_STATUS_UPDATE)

# The allocations of reservations and the stock rows they hold, in one statement.
_HOLD = Sql(
    f"WITH {_STOCK_VALUES}, a AS (INSERT INTO inventory.reservation_allocations "
    "(reservation_id, sku, warehouse_id, quantity) SELECT * "
    "FROM unnest(CAST(:a_reservation_ids AS uuid[]), CAST(:a_skus AS text[]), "
    "CAST(:a_warehouse_ids AS uuid[]), CAST(:a_quantities AS integer[]))) "
    f"{_STOCK_LEVELS}"
)

# New statuses of reservations and the stock rows they let go of (commit, release, expiry), in one.
_SETTLE = Sql(f"WITH {_STOCK_VALUES}, r AS ({_STATUS_UPDATE}) {_STOCK_LEVELS}")

_DROP_RESERVATIONS = Sql("DELETE FROM inventory.reservations WHERE id = ANY(CAST(:ids AS uuid[]))")

_ENSURE_STOCK = text(
    "INSERT INTO inventory.stock (sku, warehouse_id, on_hand, reserved, version) "
    "VALUES (:sku, :warehouse_id, 0, 0, 0) ON CONFLICT DO NOTHING"
)

_BY_REFERENCE = Sql(locks.RESERVATION_COLUMNS + "WHERE r.reference = :reference")


class InventoryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.books: list[StockBook] = []
        self.moves: list[LevelMove] = []  # every stock write of the transaction, oldest first

    # -- warehouses ---------------------------------------------------------------------------

    async def add_warehouse(self, warehouse: Warehouse) -> None:
        await self.conn.execute(
            insert(warehouses).values(id=warehouse.id, code=warehouse.code, name=warehouse.name)
        )

    async def warehouse_exists(self, warehouse_id: uuid.UUID) -> bool:
        found = await self.conn.execute(select(warehouses.c.id).where(warehouses.c.id == warehouse_id))
        return found.first() is not None

    # -- stock --------------------------------------------------------------------------------

    async def ensure_stock_row(self, sku: str, warehouse_id: uuid.UUID) -> None:
        """Create an empty row, so that it is locked with the SKU's others. Two transactions
        creating the same row queue on its key instead of racing to write absolute values."""
        await self.conn.execute(_ENSURE_STOCK, {"sku": sku, "warehouse_id": warehouse_id})

    async def lock_stock(self, skus: Sequence[str]) -> StockBook:
        """Lock and load every row of `skus`; once per use case. In a transaction holding several
        use cases (a consumer's batch), what the earlier ones left unwritten is written first, so
        that this read sees the rows as they are now (and the version check holds)."""
        for earlier in self.books:
            await self.save_stock(earlier)
        book = StockBook(await locks.lock_stock(self.conn, skus))
        self.books.append(book)
        return book

    async def save_stock(self, book: StockBook) -> None:
        if book.changed:
            await self._write_stock(_SAVE_STOCK, {}, book)

    async def _write_stock(self, statement: Sql, params: dict[str, object], book: StockBook) -> None:
        """Run a statement that writes `book`'s changed rows (with more, in `params`) and record the
        level move of each SKU it wrote."""
        rows = book.changed
        levels = await statement.fetch(self.conn, {**params, **_stock_params(rows)})
        if not levels or levels[0]["written"] != len(rows):
            raise StockInvariantBroken("stock rows changed while locked")
        for sku, available, version, _ in levels:
            after = int(available)
            self.moves.append(LevelMove(sku, after - book.delta(sku), after, int(version)))
        book.mark_saved()

    # -- adjustments --------------------------------------------------------------------------

    async def adjustment_by_key(self, key: str) -> Adjustment | None:
        row = (
            await self.conn.execute(select(adjustments).where(adjustments.c.idempotency_key == key))
        ).first()
        if row is None:
            return None
        return Adjustment(
            id=row.id,
            sku=row.sku,
            warehouse_id=row.warehouse_id,
            delta=row.delta,
            on_hand_after=row.on_hand_after,
            reason=row.reason,
            note=row.note,
            actor=row.actor,
            idempotency_key=row.idempotency_key,
            set_on_hand=row.set_on_hand,
        )

    async def add_adjustment(self, adjustment: Adjustment) -> None:
        await self.conn.execute(
            insert(adjustments).values(
                id=adjustment.id,
                sku=adjustment.sku,
                warehouse_id=adjustment.warehouse_id,
                delta=adjustment.delta,
                on_hand_after=adjustment.on_hand_after,
                set_on_hand=adjustment.set_on_hand,
                reason=adjustment.reason,
                note=adjustment.note,
                actor=adjustment.actor,
                idempotency_key=adjustment.idempotency_key,
            )
        )

    # -- reservations -------------------------------------------------------------------------

    async def open_reservations(self, reservations: Sequence[Reservation]) -> set[uuid.UUID]:
        """Insert every reservation whose reference does not exist yet, in one statement; returns the
        ids inserted. A concurrent insert of the same reference waits here until the first
        transaction ends."""
        if not reservations:
            return set()
        ordered = sorted(reservations, key=lambda r: r.reference)
        params = {
            "ids": [r.id for r in ordered],
            "references": [r.reference for r in ordered],
            "statuses": [r.status.value for r in ordered],
            "expires_at": [r.expires_at for r in ordered],
        }
        return {row[0] for row in await _OPEN_RESERVATIONS.fetch(self.conn, params)}

    async def hold(self, reservations: Sequence[Reservation], book: StockBook) -> None:
        """Write the reservations' allocations and the stock rows `book` changed, in one statement."""
        allocations = [(r.id, a) for r in reservations for a in r.allocations]
        params: dict[str, object] = {
            "a_reservation_ids": [rid for rid, _ in allocations],
            "a_skus": [a.sku for _, a in allocations],
            "a_warehouse_ids": [a.warehouse_id for _, a in allocations],
            "a_quantities": [a.quantity for _, a in allocations],
        }
        await self._write_stock(_HOLD, params, book)

    async def drop_reservations(self, reservation_ids: Sequence[uuid.UUID]) -> None:
        """Delete reservations this transaction inserted and then refused (they hold nothing)."""
        if reservation_ids:
            await _DROP_RESERVATIONS.execute(self.conn, {"ids": list(reservation_ids)})

    async def reservation_by_reference(self, reference: str) -> Reservation | None:
        row = await _BY_REFERENCE.first(self.conn, {"reference": reference})
        return locks.to_reservation(row) if row is not None else None

    async def lock_reservation(self, reservation_id: uuid.UUID) -> Reservation | None:
        return await locks.lock_reservation(self.conn, reservation_id)

    async def lock_reservations(self, reservation_ids: Sequence[uuid.UUID]) -> list[Reservation]:
        return await locks.lock_reservations(self.conn, reservation_ids)

    async def claim_expired(self, now: datetime, limit: int) -> list[Reservation]:
        return await locks.claim_expired(self.conn, now, limit)

    async def save_status(self, changed: Sequence[Reservation], book: StockBook | None = None) -> None:
        """Write the status (and release reason) of every reservation in `changed` and the stock rows
        `book` changed, in one statement."""
        if not changed:
            return
        params: dict[str, object] = {
            "ids": [r.id for r in changed],
            "statuses": [r.status.value for r in changed],
            "reasons": [r.release_reason for r in changed],
        }
        if book is None or not book.changed:
            await _SET_STATUS.execute(self.conn, params)
            return
        await self._write_stock(_SETTLE, params, book)


def _stock_params(rows: Sequence[StockLevel]) -> dict[str, object]:
    return {
        "skus": [r.sku for r in rows],
        "warehouse_ids": [r.warehouse_id for r in rows],
        "on_hand": [r.on_hand for r in rows],
        "reserved": [r.reserved for r in rows],
        "versions": [r.version for r in rows],
    }
