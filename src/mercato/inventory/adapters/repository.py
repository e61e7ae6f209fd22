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
from mercato.inventory.adapters.tables import adjustments, reservation_allocations, reservations, warehouses
from mercato.inventory.domain.model import Adjustment, Reservation, Warehouse
from mercato.inventory.domain.stock import StockBook, StockInvariantBroken

# Every changed row in one statement. `s.version = v.version - 1` re-checks that nobody changed the
# row since it was locked and read (the book bumps a row's version exactly once per transaction).
_SAVE_STOCK = text(
    "UPDATE inventory.stock AS s SET on_hand = v.on_hand, reserved = v.reserved, "
    "version = v.version, updated_at = now() "
    "FROM unnest(CAST(:skus AS text[]), CAST(:warehouse_ids AS uuid[]), CAST(:on_hand AS integer[]), "
    "CAST(:reserved AS integer[]), CAST(:versions AS bigint[])) "
    "AS v(sku, warehouse_id, on_hand, reserved, version) "
    "WHERE s.sku = v.sku AND s.warehouse_id = v.warehouse_id AND s.version = v.version - 1"
)

_STOCK_LEVELS = text(
    "SELECT sku, CAST(sum(on_hand - reserved) AS bigint) AS available, "
    "CAST(sum(version) AS bigint) AS version FROM inventory.stock "
    "WHERE sku = ANY(CAST(:skus AS text[])) GROUP BY sku ORDER BY sku"
)

_ENSURE_STOCK = text(
    "INSERT INTO inventory.stock (sku, warehouse_id, on_hand, reserved, version) "
    "VALUES (:sku, :warehouse_id, 0, 0, 0) ON CONFLICT DO NOTHING"
)

_SET_STATUS = text(
    "UPDATE inventory.reservations AS r SET status = v.status, release_reason = v.reason, updated_at = now() "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:reasons AS text[])) "
    "AS v(id, status, reason) WHERE r.id = v.id"
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
        if self.books:
            # A second lock statement could take rows out of the global order.
            raise RuntimeError("stock is locked once per transaction, for all its SKUs at once")
        book = StockBook(await locks.lock_stock(self.conn, skus))
        self.books.append(book)
        return book

    async def save_stock(self, book: StockBook) -> None:
        rows = book.changed
        if not rows:
            return
        result = await self.conn.execute(
            _SAVE_STOCK,
            {
                "skus": [r.sku for r in rows],
                "warehouse_ids": [r.warehouse_id for r in rows],
                "on_hand": [r.on_hand for r in rows],
                "reserved": [r.reserved for r in rows],
                "versions": [r.version for r in rows],
            },
        )
        if result.rowcount != len(rows):
            raise StockInvariantBroken("stock rows changed while locked")

    async def stock_levels(self, skus: Sequence[str]) -> list[tuple[str, int, int]]:
        """(sku, available, summed version) per SKU that has stock rows."""
        rows = (await self.conn.execute(_STOCK_LEVELS, {"skus": list(skus)})).all()
        return [(r.sku, int(r.available), int(r.version)) for r in rows]

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

    async def add_allocations(self, reservation: Reservation) -> None:
        await self.conn.execute(
            insert(reservation_allocations).values(
                [
                    {
                        "reservation_id": reservation.id,
                        "sku": a.sku,
                        "warehouse_id": a.warehouse_id,
                        "quantity": a.quantity,
                    }
                    for a in reservation.allocations
                ]
            )
        )

    async def reservation_by_reference(self, reference: str) -> Reservation | None:
        row = (await self.conn.execute(_BY_REFERENCE, {"reference": reference})).first()
        return locks.to_reservation(row) if row is not None else None

    async def lock_reservation(self, reservation_id: uuid.UUID) -> Reservation | None:
        return await locks.lock_reservation(self.conn, reservation_id)

    async def claim_expired(self, now: datetime, limit: int) -> list[Reservation]:
        return await locks.claim_expired(self.conn, now, limit)

    async def save_status(self, changed: Sequence[Reservation]) -> None:
        """Write the status (and release reason) of every reservation in `changed`, in one statement."""
        if not changed:
            return
        await self.conn.execute(
            _SET_STATUS,
            {
                "ids": [r.id for r in changed],
                "statuses": [r.status.value for r in changed],
                "reasons": [r.release_reason for r in changed],
            },
        )
