"""Restock a committed reservation: the units of a cancelled order go back on the shelves.

No new reservation status: each allocation is recorded as a RETURNED adjustment whose idempotency
key is derived from the reservation and the allocation (`restock_key`), so the audit trail shows
the return, and a second restock finds the first one's adjustment and changes nothing. The
reservation row is locked first, which serialises two restocks of it (lock order: reservation,
then stock). The unit of work adds one `stock_level_changed` per SKU, as for every stock change.
"""

from __future__ import annotations

import uuid

from mercato.inventory.domain import commands, events
from mercato.inventory.domain.model import Adjustment, Reservation, ReservationStatus, check_release_reason
from mercato.inventory.domain.rules import ReservationNotActive, ReservationNotFound
from mercato.inventory.service_layer.unit_of_work import InventoryDeps, InventoryUnitOfWork

ACTOR = "orders"  # restocks are asked by the orders' saga only


def restock_key(reservation_id: uuid.UUID, sku: str, warehouse_id: uuid.UUID) -> str:
    return f"restock:{reservation_id}:{sku}:{warehouse_id}"


async def restock_reservation_in(cmd: commands.RestockReservation, uow: InventoryUnitOfWork) -> Reservation:
    """`restock_reservation` in a unit of work the caller opened and commits. Its refusals come
    before any write."""
    check_release_reason(cmd.reason)
    reservation = await uow.store.lock_reservation(cmd.reservation_id)
    if reservation is None:
        raise ReservationNotFound()
    if reservation.status is not ReservationStatus.COMMITTED:
        raise ReservationNotActive(reservation.status.value)
    first = reservation.allocations[0]
    if await uow.store.adjustment_by_key(restock_key(reservation.id, first.sku, first.warehouse_id)):
        return reservation  # restocked already
    book = await uow.store.lock_stock(reservation.skus)
    for allocation in reservation.allocations:
        adjust = commands.AdjustStock(
            sku=allocation.sku,
            warehouse_id=allocation.warehouse_id,
            reason="RETURNED",
            actor=ACTOR,
            delta=allocation.quantity,
            note=f"order {reservation.reference} cancelled"[:2_000],
            idempotency_key=restock_key(reservation.id, allocation.sku, allocation.warehouse_id),
        )
        delta, after = book.adjust(allocation.sku, allocation.warehouse_id, delta=allocation.quantity)
        await uow.store.add_adjustment(Adjustment.record(adjust, delta=delta, on_hand_after=after))
    uow.add_event(
        events.ReservationRestocked(
            aggregate_id=str(reservation.id),
            reservation_id=str(reservation.id),
            reference=reservation.reference,
            reason=cmd.reason,
            lines=[{"sku": line.sku, "quantity": line.quantity} for line in reservation.lines],
        )
    )
    return reservation


async def restock_reservation(cmd: commands.RestockReservation, deps: InventoryDeps) -> Reservation:
    """Put a COMMITTED reservation's units back; refused (ReservationNotActive) for any other."""
    check_release_reason(cmd.reason)
    async with deps.uow() as uow:
        reservation = await restock_reservation_in(cmd, uow)
        await uow.commit()
        return reservation
