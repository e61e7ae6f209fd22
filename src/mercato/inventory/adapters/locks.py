"""Every row lock the inventory takes, in one place, so that the order is easy to check.

Lock order, for every transaction:
  1. reservation rows first: one by id (FOR UPDATE), several by id in ONE statement ordered by id (a
     consumer's batch of commits or releases), a batch of expired ones (FOR UPDATE SKIP LOCKED, so
     sweepers never wait on each other), or those a batch of reservations INSERTs (in reference
     order, one statement);
  2. then stock rows: ALL rows of every SKU involved, in ONE statement, ordered by (sku, warehouse_id).
No use case locks a reservation after a stock row, and stock rows are always taken in the same
global order, so transactions can only wait on each other in one direction: no deadlock, whatever
the order of lines in the requests. Taking all rows of a SKU (not only those changed) is also what
makes the SKU's summed `version` grow strictly from one stock_level_changed event to the next.

A consumer's batch runs several use cases in one transaction, each in this order, so the
transaction as a whole may lock a reservation or a SKU after a stock row of an earlier message.
Within the transaction that is harmless (a row it holds is never waited for), and every use case
runs on the batch's one connection, so it never waits for itself. Two batches can still deadlock
each other; PostgreSQL aborts one, and the consumer retries it message by message (no deadlock
then, as above).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from asyncpg import Record
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.inventory.domain.model import Reservation, ReservationStatus
from mercato.inventory.domain.stock import Allocation, StockLevel
from mercato.platform.sql import Sql

# Sent straight to asyncpg (`platform.sql`): every reservation and commit takes these locks.
LOCK_STOCK = Sql(
    "SELECT sku, warehouse_id, on_hand, reserved, version FROM inventory.stock "
    "WHERE sku = ANY(CAST(:skus AS text[])) "
    "ORDER BY sku, warehouse_id FOR UPDATE"
)

# A reservation with its allocations in one row, so loading one costs one statement.
RESERVATION_COLUMNS = (
    "SELECT r.id, r.reference, r.status, r.expires_at, r.release_reason, "
    "(SELECT coalesce(json_agg(json_build_object('sku', a.sku, 'warehouse_id', a.warehouse_id, "
    "'quantity', a.quantity) ORDER BY a.sku, a.warehouse_id), CAST('[]' AS json)) "
    "FROM inventory.reservation_allocations a WHERE a.reservation_id = r.id) AS allocations "
    "FROM inventory.reservations r "
)

LOCK_RESERVATION = Sql(RESERVATION_COLUMNS + "WHERE r.id = :id FOR UPDATE OF r")

LOCK_RESERVATIONS = Sql(
    RESERVATION_COLUMNS + "WHERE r.id = ANY(CAST(:ids AS uuid[])) ORDER BY r.id FOR UPDATE OF r"
)

CLAIM_EXPIRED = Sql(
    RESERVATION_COLUMNS + "WHERE r.status = 'ACTIVE' AND r.expires_at <= :now "
    "ORDER BY r.expires_at, r.id LIMIT :limit FOR UPDATE OF r SKIP LOCKED"
)


def to_reservation(row: Record) -> Reservation:
    raw = row["allocations"]
    return Reservation(
        id=row["id"],
        reference=row["reference"],
        status=ReservationStatus(row["status"]),
        expires_at=row["expires_at"],
        release_reason=row["release_reason"],
        allocations=tuple(
            Allocation(
                sku=a["sku"], warehouse_id=uuid.UUID(str(a["warehouse_id"])), quantity=int(a["quantity"])
            )
            for a in raw
        ),
    )


async def lock_stock(conn: AsyncConnection, skus: Sequence[str]) -> list[StockLevel]:
    """Lock every stock row of `skus` (rows of other SKUs stay free)."""
    if not skus:
        return []
    rows = await LOCK_STOCK.fetch(conn, {"skus": sorted(set(skus))})
    return [StockLevel(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def lock_reservation(conn: AsyncConnection, reservation_id: uuid.UUID) -> Reservation | None:
    row = await LOCK_RESERVATION.first(conn, {"id": reservation_id})
    return to_reservation(row) if row is not None else None


async def lock_reservations(conn: AsyncConnection, reservation_ids: Sequence[uuid.UUID]) -> list[Reservation]:
    """Lock the reservations of `reservation_ids` that exist, in id order (two batches wait in one
    direction)."""
    if not reservation_ids:
        return []
    rows = await LOCK_RESERVATIONS.fetch(conn, {"ids": sorted(set(reservation_ids))})
    return [to_reservation(r) for r in rows]


async def claim_expired(conn: AsyncConnection, now: datetime, limit: int) -> list[Reservation]:
    """Lock up to `limit` ACTIVE reservations expired at `now`, skipping any another sweeper holds."""
    rows = await CLAIM_EXPIRED.fetch(conn, {"now": now, "limit": limit})
    return [to_reservation(r) for r in rows]
