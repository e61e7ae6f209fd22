"""Loads and saves inventory data on the unit of work's connection, a few batched statements each.

Implements `service_layer.unit_of_work.InventoryStore`. Row locks are taken through `locks`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.inventory.adapters import locks
from mercato.inventory.adapters.tables import adjustments, reservations, warehouses
from mercato.inventory.domain.model import Adjustment, Reservation, Warehouse
from mercato.inventory.domain.stock import StockBook, StockInvariantBroken, StockLevel

# Every changed row in one statement. `s.version = v.version - 1` re-checks that nobody changed the
# row since it was locked and read (the book bumps a row's version once per write). It is also the
# tail of the CTEs below, which write a reservation's change and its stock rows in one statement.
_STOCK_UPDATE = (
    "UPDATE inventory.stock AS s SET on_hand = v.on_hand, reserved = v.reserved, "
    "version = v.version, updated_at = now() "
    "FROM unnest(CAST(:skus AS text[]), CAST(:warehouse_ids AS uuid[]), CAST(:on_hand AS integer[]), "
    "CAST(:reserved AS integer[]), CAST(:versions AS bigint[])) "
    "AS v(sku, warehouse_id, on_hand, reserved, version) "
    "WHERE s.sku = v.sku AND s.warehouse_id = v.warehouse_id AND s.version = v.version - 1"
)
_SAVE_STOCK = text(_STOCK_UPDATE)

_STATUS_UPDATE = (
    "UPDATE inventory.reservations AS r SET status = v.status, release_reason = v.reason, updated_at = now() "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:reasons AS text[])) "
    "AS v(id, status, reason) WHERE r.id = v.id"
)
_SET_STATUS = text(_STATUS_UPDATE)

# A reservation's allocations and the stock rows they hold, in one statement; returns the number of
# stock rows written (the version check of `_STOCK_UPDATE`).
_HOLD = text(
    "WITH a AS (INSERT INTO inventory.reservation_allocations (reservation_id, sku, warehouse_id, quantity) "
    "SELECT CAST(:reservation_id AS uuid), * FROM unnest(CAST(:a_skus AS text[]), "
    "CAST(:a_warehouse_ids AS uuid[]), CAST(:a_quantities AS integer[]))), "
    f"s AS ({_STOCK_UPDATE} RETURNING 1) SELECT count(*) FROM s"
)

# New statuses of reservations and the stock rows they let go of (commit, release, expiry), in one.
_SETTLE = text(f"WITH r AS ({_STATUS_UPDATE}), s AS ({_STOCK_UPDATE} RETURNING 1) SELECT count(*) FROM s")

_DROP_RESERVATION = text("DELETE FROM inventory.reservations WHERE id = :id")

_ENSURE_STOCK = text(
    "INSERT INTO inventory.stock (sku, warehouse_id, on_hand, reserved, version) "
    "VALUES (:sku, :warehouse_id, 0, 0, 0) ON CONFLICT DO NOTHING"
)

_BY_REFERENCE = text(locks.RESERVATION_COLUMNS + "WHERE r.reference = :reference")


class InventoryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.books: list[StockBook] = []

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
        rows = book.changed
        if not rows:
            return
        result = await self.conn.execute(_SAVE_STOCK, _stock_params(rows))
        _check_written(result.rowcount, rows)
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

    async def open_reservation(self, reservation: Reservation) -> bool:
        """Insert the reservation unless its reference exists; False if it did. A concurrent
        insert of the same reference waits here until the first transaction ends."""
        inserted = await self.conn.execute(
            pg_insert(reservations)
            .values(
                id=reservation.id,
                reference=reservation.reference,
                status=reservation.status.value,
                expires_at=reservation.expires_at,
            )
            .on_conflict_do_nothing(index_elements=["reference"])
            .returning(reservations.c.id)
        )
        return inserted.first() is not None

    async def hold(self, reservation: Reservation, book: StockBook) -> None:
        """Write the reservation's allocations and the stock rows `book` changed, in one statement."""
        rows = book.changed
        allocations = reservation.allocations
        written = await self.conn.scalar(
            _HOLD,
            {
                "reservation_id": reservation.id,
                "a_skus": [a.sku for a in allocations],
                "a_warehouse_ids": [a.warehouse_id for a in allocations],
                "a_quantities": [a.quantity for a in allocations],
                **_stock_params(rows),
            },
        )
        _check_written(written, rows)
        book.mark_saved()

    async def drop_reservation(self, reservation_id: uuid.UUID) -> None:
        """Delete a reservation this transaction inserted and then refused (it holds nothing)."""
        await self.conn.execute(_DROP_RESERVATION, {"id": reservation_id})

    async def reservation_by_reference(self, reference: str) -> Reservation | None:
        row = (await self.conn.execute(_BY_REFERENCE, {"reference": reference})).first()
        return locks.to_reservation(row) if row is not None else None

    async def lock_reservation(self, reservation_id: uuid.UUID) -> Reservation | None:
        return await locks.lock_reservation(self.conn, reservation_id)

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
        rows = book.changed if book is not None else []
        if not rows:
            await self.conn.execute(_SET_STATUS, params)
            return
        assert book is not None
        written = await self.conn.scalar(_SETTLE, {**params, **_stock_params(rows)})
        _check_written(written, rows)
        book.mark_saved()


def _stock_params(rows: Sequence[StockLevel]) -> dict[str, object]:
    return {
        "skus": [r.sku for r in rows],
        "warehouse_ids": [r.warehouse_id for r in rows],
        "on_hand": [r.on_hand for r in rows],
        "reserved": [r.reserved for r in rows],
        "versions": [r.version for r in rows],
    }


def _check_written(written: int | None, rows: Sequence[StockLevel]) -> None:
    if written != len(rows):
        raise StockInvariantBroken("stock rows changed while locked")
