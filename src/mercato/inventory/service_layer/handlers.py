"""Inventory use cases. Each takes a command and the context's `InventoryDeps` (`handler(cmd, deps)`,
listed in `dispatch.COMMAND_HANDLERS`), and commits or raises a typed error.

The saga's commands also have an `*_in` form, which runs inside a unit of work the caller opened and
commits (`handler_in(cmd, uow)`, listed in `dispatch.IN_UNIT_OF_WORK`): the inventory's saga
consumer runs it in the transaction that claims the message's inbox row, possibly beside other
messages of the same batch. Such a form never commits nor rolls back, and leaves nothing written
when it refuses, so the caller can commit what the others did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypeVar

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
    check_reservation,
)
from mercato.inventory.domain.rules import (
    DuplicateWarehouseCode,
    IdempotencyKeyReused,
    InsufficientStock,
    ReservationNotFound,
    WarehouseNotFound,
)
from mercato.inventory.service_layer.unit_of_work import InventoryDeps, InventoryUnitOfWork
from mercato.platform.db import violated_constraint
from mercato.platform.errors import ClientError, recode

T = TypeVar("T")
C = TypeVar("C")

_IDEMPOTENCY_KEY_CONSTRAINT = "adjustments_idempotency_key_key"


async def _committed(
    use_case: Callable[[C, InventoryUnitOfWork], Awaitable[T]], cmd: C, deps: InventoryDeps
) -> T:
    """Run an in-unit-of-work use case in a unit of work of its own: one transaction, committed unless
    it raised."""
    async with deps.uow() as uow:
        result = await use_case(cmd, uow)
        await uow.commit()
        return result


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


async def create_warehouse(cmd: commands.CreateWarehouse, deps: InventoryDeps) -> Warehouse:
    async def run() -> Warehouse:
        async with deps.uow() as uow:
            warehouse = Warehouse.create(code=cmd.code, name=cmd.name)
            await uow.store.add_warehouse(warehouse)
            uow.add_event(warehouse.created())
            await uow.commit()
            return warehouse

    return await _guarded(WarehouseCreateErrorCode, run)


async def adjust_stock(cmd: commands.AdjustStock, deps: InventoryDeps) -> Adjustment:
    """Apply a staff adjustment and record it. A repeated idempotency key returns the first
    adjustment (nothing written) if the parameters match, and is refused if they differ."""

    async def run() -> Adjustment:
        check_adjustment(cmd)  # before a connection is taken from the pool
        async with deps.uow() as uow:
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


async def reserve_stock_in(cmd: commands.ReserveStock, uow: InventoryUnitOfWork) -> Reservation:
    """`reserve_stock` in a unit of work the caller opened and commits (it may hold other use cases:
    a consumer's batch). Refused with `InsufficientStock` leaving nothing of it in the transaction,
    which the caller may therefore still commit."""
    reservation, lines = Reservation.open(cmd, uow.clock())
    if reservation.id not in await uow.store.open_reservations([reservation]):
        existing = await uow.store.reservation_by_reference(cmd.reference)
        if existing is None:  # pragma: no cover - the conflicting row cannot vanish
            raise RuntimeError("reservation reference conflicted but is not there")
        return existing
    # The reservation row is inserted first: lock order (adapters/locks.py), and it is what makes a
    # concurrent reservation of the same reference wait for this one.
    book = await uow.store.lock_stock(sorted(lines))
    try:
        allocations = book.reserve(lines)  # all or nothing: a short SKU leaves the book untouched
    except InsufficientStock:
        # Undo the one row written so far rather than roll back: the transaction is the caller's.
        # (A savepoint would cost two more statements on every reservation, not only refused ones.)
        await uow.store.drop_reservations([reservation.id])
        raise
    reservation = reservation.with_allocations(allocations)
    await uow.store.hold([reservation], book)
    uow.add_event(reservation.created())
    return reservation


async def reserve_stock(cmd: commands.ReserveStock, deps: InventoryDeps) -> Reservation:
    """Hold every line or none. The same reference again returns the first reservation as it is."""

    async def run() -> Reservation:
        check_reservation(cmd)  # before a connection is taken from the pool
        return await _committed(reserve_stock_in, cmd, deps)

    return await _guarded(ReserveStockErrorCode, run)


async def commit_reservation_in(cmd: commands.CommitReservation, uow: InventoryUnitOfWork) -> Reservation:
    """`commit_reservation` in the caller's unit of work. Its refusals come before any write."""
    reservation = await uow.store.lock_reservation(cmd.reservation_id)
    if reservation is None:
        raise ReservationNotFound()
    outcome = reservation.commit()
    if outcome is None:
        return reservation
    committed, event = outcome
    book = await uow.store.lock_stock(reservation.skus)
    book.commit(reservation.allocations)
    await uow.store.save_status([committed], book)
    uow.add_event(event)
    return committed


async def commit_reservation(cmd: commands.CommitReservation, deps: InventoryDeps) -> Reservation:
    """The held units leave stock. Committing twice is a no-op; a released one is refused."""
    return await _guarded(CommitReservationErrorCode, lambda: _committed(commit_reservation_in, cmd, deps))


async def release_reservation_in(cmd: commands.ReleaseReservation, uow: InventoryUnitOfWork) -> Reservation:
    """`release_reservation` in the caller's unit of work. Its refusals come before any write."""
    check_release_reason(cmd.reason)
    reservation = await uow.store.lock_reservation(cmd.reservation_id)
    if reservation is None:
        raise ReservationNotFound()
    outcome = reservation.release(cmd.reason)
    if outcome is None:
        return reservation
    released, event = outcome
    book = await uow.store.lock_stock(reservation.skus)
    book.release(reservation.allocations)
    await uow.store.save_status([released], book)
    uow.add_event(event)
    return released


async def release_reservation(cmd: commands.ReleaseReservation, deps: InventoryDeps) -> Reservation:
    """The held units become sellable again. Idempotent; a committed one is refused."""

    async def run() -> Reservation:
        check_release_reason(cmd.reason)  # before a connection is taken from the pool
        return await _committed(release_reservation_in, cmd, deps)

    return await _guarded(ReleaseReservationErrorCode, run)


async def expire_reservations(cmd: commands.ExpireReservations, deps: InventoryDeps) -> int:
    """Release (as EXPIRED) up to `limit` reservations past their expiry; returns how many.
    Claims skip rows another sweeper holds, so sweepers may run side by side."""
    async with deps.uow() as uow:
        claimed = await uow.store.claim_expired(cmd.now, max(1, min(cmd.limit, 1_000)))
        expiring = [(r, outcome) for r in claimed if (outcome := r.expire(cmd.now)) is not None]
        if not expiring:
            return 0
        book = await uow.store.lock_stock(sorted({sku for r, _ in expiring for sku in r.skus}))
        for reservation, _ in expiring:
            book.release(reservation.allocations)
        outcomes = [outcome for _, outcome in expiring]
        await uow.store.save_status([expired for expired, _ in outcomes], book)
        uow.add_events([event for _, event in outcomes])
        await uow.commit()
        return len(outcomes)
