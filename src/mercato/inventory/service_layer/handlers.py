"""Inventory use cases. Each takes a command and a unit of work, and commits or raises a typed error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError

from mercato.inventory.domain import commands
from mercato.inventory.domain.errors import (
    CommitReservationErrorCode,
    ReleaseReservationErrorCode,
    ReserveStockErrorCode,
    StockAdjustErrorCode,
    WarehouseCreateErrorCode,
)
from mercato.inventory.domain.model import (
    Adjustment,
    Reservation,
    Warehouse,
    check_adjustment,
    check_release_reason,
)
from mercato.inventory.domain.rules import (
    DuplicateWarehouseCode,
    IdempotencyKeyReused,
    ReservationNotFound,
    WarehouseNotFound,
)
from mercato.inventory.service_layer.restock import restock_reservation
from mercato.inventory.service_layer.unit_of_work import InventoryUnitOfWork
from mercato.platform.db import violated_constraint
from mercato.platform.errors import ClientError, recode

T = TypeVar("T")

_IDEMPOTENCY_KEY_CONSTRAINT = "adjustments_idempotency_key_key"


async def _guarded(codes: type[Enum], action: Callable[[], Awaitable[T]]) -> T:
    """Run a use case; re-code its client errors into `codes`; turn unique violations into conflicts."""
    try:
        return await action()
    except IntegrityError as exc:
        constraint = violated_constraint(exc) or ""
        if constraint == "warehouses_code_key":
            raise recode(DuplicateWarehouseCode(), codes) from None
        if constraint.endswith("warehouse_id_fkey"):
            raise recode(WarehouseNotFound(), codes) from None
        raise
    except ClientError as exc:
        raise recode(exc, codes) from None


async def create_warehouse(cmd: commands.CreateWarehouse, uow: InventoryUnitOfWork) -> Warehouse:
    async def run() -> Warehouse:
        async with uow:
            warehouse = Warehouse.create(code=cmd.code, name=cmd.name)
            await uow.store.add_warehouse(warehouse)
            uow.add_event(warehouse.created())
            await uow.commit()
            return warehouse

    return await _guarded(WarehouseCreateErrorCode, run)


async def adjust_stock(cmd: commands.AdjustStock, uow: InventoryUnitOfWork) -> Adjustment:
    """Apply a staff adjustment and record it. A repeated idempotency key returns the first
    adjustment (nothing written) if the parameters match, and is refused if they differ."""

    async def run() -> Adjustment:
        check_adjustment(cmd)  # before a connection is taken from the pool
        async with uow:
            if cmd.idempotency_key is not None:
                earlier = await uow.store.adjustment_by_key(cmd.idempotency_key)
                if earlier is not None:
                    if not earlier.answers(cmd):
                        raise IdempotencyKeyReused()
                    return earlier
            if not await uow.store.warehouse_exists(cmd.warehouse_id):
                raise WarehouseNotFound()
            if cmd.delta is None or cmd.delta > 0:
                await uow.store.ensure_stock_row(cmd.sku, cmd.warehouse_id)
            book = await uow.store.lock_stock([cmd.sku])
            delta, after = book.adjust(
                cmd.sku, cmd.warehouse_id, delta=cmd.delta, set_on_hand=cmd.set_on_hand
            )
            adjustment = Adjustment.record(cmd, delta=delta, on_hand_after=after)
            await uow.store.add_adjustment(adjustment)
            uow.add_event(adjustment.adjusted())
            await uow.commit()
            return adjustment

    try:
        return await _guarded(StockAdjustErrorCode, run)
    except IntegrityError as exc:
        if violated_constraint(exc) != _IDEMPOTENCY_KEY_CONSTRAINT:
            raise
        # A concurrent request with the same key committed first; answer as its replay.
        return await _guarded(StockAdjustErrorCode, run)


async def reserve_stock(cmd: commands.ReserveStock, uow: InventoryUnitOfWork) -> Reservation:
    """Hold every line or none. The same reference again returns the first reservation as it is."""

    async def run() -> Reservation:
        reservation, lines = Reservation.open(cmd, uow.clock())
        async with uow:
            if not await uow.store.open_reservation(reservation):
                existing = await uow.store.reservation_by_reference(cmd.reference)
                if existing is None:  # pragma: no cover - the conflicting row cannot vanish
                    raise RuntimeError("reservation reference conflicted but is not there")
                return existing
            book = await uow.store.lock_stock(sorted(lines))
            reservation = reservation.with_allocations(book.reserve(lines))
            await uow.store.add_allocations(reservation)
            uow.add_event(reservation.created())
            await uow.commit()
            return reservation

    return await _guarded(ReserveStockErrorCode, run)


async def commit_reservation(cmd: commands.CommitReservation, uow: InventoryUnitOfWork) -> Reservation:
    """The held units leave stock. Committing twice is a no-op; a released one is refused."""

    async def run() -> Reservation:
        async with uow:
            reservation = await uow.store.lock_reservation(cmd.reservation_id)
            if reservation is None:
                raise ReservationNotFound()
            outcome = reservation.commit()
            if outcome is None:
                return reservation
            committed, event = outcome
            book = await uow.store.lock_stock(reservation.skus)
            book.commit(reservation.allocations)
            await uow.store.save_status([committed])
            uow.add_event(event)
            await uow.commit()
            return committed

    return await _guarded(CommitReservationErrorCode, run)


async def release_reservation(cmd: commands.ReleaseReservation, uow: InventoryUnitOfWork) -> Reservation:
    """The held units become sellable again. Idempotent; a committed one is refused."""

    async def run() -> Reservation:
        check_release_reason(cmd.reason)
        async with uow:
            reservation = await uow.store.lock_reservation(cmd.reservation_id)
            if reservation is None:
                raise ReservationNotFound()
            outcome = reservation.release(cmd.reason)
            if outcome is None:
                return reservation
            released, event = outcome
            book = await uow.store.lock_stock(reservation.skus)
            book.release(reservation.allocations)
            await uow.store.save_status([released])
            uow.add_event(event)
            await uow.commit()
            return released

    return await _guarded(ReleaseReservationErrorCode, run)


async def expire_reservations(cmd: commands.ExpireReservations, uow: InventoryUnitOfWork) -> int:
    """Release (as EXPIRED) up to `limit` reservations past their expiry; returns how many.
    Claims skip rows another sweeper holds, so sweepers may run side by side."""
    async with uow:
        claimed = await uow.store.claim_expired(cmd.now, max(1, min(cmd.limit, 1_000)))
        expiring = [(r, outcome) for r in claimed if (outcome := r.expire(cmd.now)) is not None]
        if not expiring:
            return 0
        book = await uow.store.lock_stock(sorted({sku for r, _ in expiring for sku in r.skus}))
        for reservation, _ in expiring:
            book.release(reservation.allocations)
        outcomes = [outcome for _, outcome in expiring]
        await uow.store.save_status([expired for expired, _ in outcomes])
        uow.add_events([event for _, event in outcomes])
        await uow.commit()
        return len(outcomes)


COMMAND_HANDLERS: dict[type[Any], Callable[..., Awaitable[Any]]] = {
    commands.CreateWarehouse: create_warehouse,
    commands.AdjustStock: adjust_stock,
    commands.ReserveStock: reserve_stock,
    commands.CommitReservation: commit_reservation,
    commands.ReleaseReservation: release_reservation,
    commands.ExpireReservations: expire_reservations,
    commands.RestockReservation: restock_reservation,
}
