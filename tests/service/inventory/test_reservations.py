from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from mercato.inventory import (
    CommitReservation,
    CommitReservationErrorCode,
    ExpireReservations,
    ReleaseReservation,
    ReleaseReservationErrorCode,
    ReservationStatus,
    ReserveStock,
    ReserveStockErrorCode,
)
from mercato.inventory.bootstrap import InventoryService
from mercato.inventory.domain.rules import InsufficientStock
from mercato.platform.db import Database
from mercato.platform.errors import Conflict, InputRejected, NotFound
from tests.conftest import ref
from tests.service.inventory.conftest import FakeClock, new_sku, new_warehouse, outbox, stock_rows, stock_up


async def reservations_with_reference(db: Database, reference: str) -> int:
    async with db.connect() as conn:
        found = await conn.execute(
            text("SELECT count(*) FROM inventory.reservations WHERE reference = :r"), {"r": reference}
        )
        return int(found.scalar_one())


async def test_reserve_allocates_most_available_warehouse_first(
    inventory: InventoryService, db: Database
) -> None:
    big, small = await new_warehouse(inventory), await new_warehouse(inventory)
    a, b = new_sku(), new_sku()
    await stock_up(inventory, a, big, 5)
    await stock_up(inventory, a, small, 3)
    await stock_up(inventory, b, small, 2)
    reservation = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(a, 6), (b, 1), (a, 1)]))
    assert reservation.status is ReservationStatus.ACTIVE
    assert {(x.sku, x.warehouse_id, x.quantity) for x in reservation.allocations} == {
        (a, big.id, 5),
        (a, small.id, 2),
        (b, small.id, 1),
    }
    assert await inventory.queries.availability([a, b]) == {a: 1, b: 1}
    view = await inventory.queries.reservation(reservation.id)
    assert view is not None
    assert (view.status, len(view.allocations)) == ("ACTIVE", 3)
    created = await outbox(db, "inventory.reservation_created", reservation.id)
    lines = sorted([{"sku": a, "quantity": 7}, {"sku": b, "quantity": 1}], key=lambda line: str(line["sku"]))
    assert [e.payload["lines"] for e in created] == [lines]


async def test_same_reference_returns_the_first_reservation_unchanged(
    inventory: InventoryService, db: Database
) -> None:
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 5)
    reference = ref("order")
    first = await inventory.handle(ReserveStock(reference=reference, lines=[(sku, 2)]))
    again = await inventory.handle(ReserveStock(reference=reference, lines=[(sku, 4)]))
    assert again == first
    assert await stock_rows(db, [sku]) == [(sku, warehouse.id, 5, 2, 2)]
    assert len(await outbox(db, "inventory.reservation_created", first.id)) == 1
    await inventory.handle(CommitReservation(first.id))
    replay = await inventory.handle(ReserveStock(reference=reference, lines=[(sku, 2)]))
    assert (replay.id, replay.status) == (first.id, ReservationStatus.COMMITTED)


async def test_insufficient_stock_is_all_or_nothing(inventory: InventoryService, db: Database) -> None:
    warehouse = await new_warehouse(inventory)
    plenty, scarce, absent = new_sku(), new_sku(), new_sku()
    await stock_up(inventory, plenty, warehouse, 100)
    await stock_up(inventory, scarce, warehouse, 1)
    before = await stock_rows(db, [plenty, scarce])
    levels_before = len(await outbox(db, "inventory.stock_level_changed", plenty))
    reference = ref("order")
    with pytest.raises(InsufficientStock) as caught:
        await inventory.handle(
            ReserveStock(reference=reference, lines=[(plenty, 5), (scarce, 2), (absent, 1)])
        )
    assert isinstance(caught.value, Conflict)
    assert caught.value.code is ReserveStockErrorCode.INSUFFICIENT_STOCK
    assert caught.value.skus == sorted([scarce, absent])
    assert await stock_rows(db, [plenty, scarce, absent]) == before
    assert await reservations_with_reference(db, reference) == 0
    assert len(await outbox(db, "inventory.stock_level_changed", plenty)) == levels_before
    async with db.connect() as conn:
        created = await conn.execute(
            text(
                "SELECT count(*) FROM inventory.outbox WHERE convert_from(body, 'UTF8')::jsonb "
                "-> 'payload' ->> 'reference' = :r"
            ),
            {"r": reference},
        )
        assert created.scalar_one() == 0


async def test_reserve_input_is_checked(inventory: InventoryService) -> None:
    with pytest.raises(InputRejected) as caught:
        await inventory.handle(ReserveStock(reference=ref("order"), lines=[("A-1", 10_001), ("A-2", 0)]))
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("lines.0.quantity", ReserveStockErrorCode.OUT_OF_RANGE),
        ("lines.1.quantity", ReserveStockErrorCode.OUT_OF_RANGE),
    ]


async def test_commit_takes_units_out_and_is_idempotent(inventory: InventoryService, db: Database) -> None:
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 5)
    reservation = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 2)]))
    committed = await inventory.handle(CommitReservation(reservation.id))
    assert committed.status is ReservationStatus.COMMITTED
    assert await stock_rows(db, [sku]) == [(sku, warehouse.id, 3, 0, 3)]
    with db.count_statements() as counter:
        again = await inventory.handle(CommitReservation(reservation.id))
    assert again == committed
    assert counter.count == 1
    assert await stock_rows(db, [sku]) == [(sku, warehouse.id, 3, 0, 3)]
    assert len(await outbox(db, "inventory.reservation_committed", reservation.id)) == 1
    with pytest.raises(Conflict) as not_active:
        await inventory.handle(ReleaseReservation(reservation.id, "CANCELLED"))
    assert not_active.value.code is ReleaseReservationErrorCode.RESERVATION_NOT_ACTIVE


async def test_release_frees_units_and_is_idempotent(inventory: InventoryService, db: Database) -> None:
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 5)
    reservation = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 2)]))
    released = await inventory.handle(ReleaseReservation(reservation.id, "PAYMENT_FAILED"))
    assert (released.status, released.release_reason) == (ReservationStatus.RELEASED, "PAYMENT_FAILED")
    assert await stock_rows(db, [sku]) == [(sku, warehouse.id, 5, 0, 3)]
    again = await inventory.handle(ReleaseReservation(reservation.id, "PAYMENT_FAILED"))
    assert again == released
    assert await stock_rows(db, [sku]) == [(sku, warehouse.id, 5, 0, 3)]
    events = await outbox(db, "inventory.reservation_released", reservation.id)
    assert [(e.payload["reason"], e.payload["status"]) for e in events] == [("PAYMENT_FAILED", "RELEASED")]
    with pytest.raises(Conflict) as not_active:
        await inventory.handle(CommitReservation(reservation.id))
    assert not_active.value.code is CommitReservationErrorCode.RESERVATION_NOT_ACTIVE


async def test_unknown_reservation(inventory: InventoryService) -> None:
    with pytest.raises(NotFound) as commit:
        await inventory.handle(CommitReservation(uuid.uuid4()))
    assert commit.value.code is CommitReservationErrorCode.RESERVATION_NOT_FOUND
    with pytest.raises(NotFound) as release:
        await inventory.handle(ReleaseReservation(uuid.uuid4(), "CANCELLED"))
    assert release.value.code is ReleaseReservationErrorCode.RESERVATION_NOT_FOUND
    with pytest.raises(InputRejected) as no_reason:
        await inventory.handle(ReleaseReservation(uuid.uuid4(), " "))
    assert no_reason.value.code is ReleaseReservationErrorCode.REQUIRED


async def drain_expired(inventory: InventoryService, clock: FakeClock) -> None:
    """Expire whatever earlier tests left ACTIVE before `clock.now`, so counts below are exact."""
    while await inventory.handle(ExpireReservations(now=clock.now, limit=1_000)):
        pass


async def test_expire_releases_only_reservations_past_their_expiry(
    inventory: InventoryService, db: Database, clock: FakeClock
) -> None:
    await drain_expired(inventory, clock)
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 10)
    short = [
        await inventory.handle(ReserveStock(reference=ref("o"), lines=[(sku, 1)], ttl_seconds=60))
        for _ in "abc"
    ]
    long = await inventory.handle(ReserveStock(reference=ref("o"), lines=[(sku, 2)], ttl_seconds=600))
    assert await inventory.handle(ExpireReservations(now=clock.now + timedelta(seconds=59))) == 0
    sweep_at = clock.now + timedelta(seconds=60)
    assert await inventory.handle(ExpireReservations(now=sweep_at, limit=2)) == 2
    assert await inventory.handle(ExpireReservations(now=sweep_at, limit=2)) == 1
    assert await inventory.handle(ExpireReservations(now=sweep_at, limit=2)) == 0
    for reservation in short:
        view = await inventory.queries.reservation(reservation.id)
        assert view is not None
        assert (view.status, view.release_reason) == ("EXPIRED", "EXPIRED")
        events = await outbox(db, "inventory.reservation_released", reservation.id)
        assert [(e.payload["reason"], e.payload["status"]) for e in events] == [("EXPIRED", "EXPIRED")]
    long_view = await inventory.queries.reservation(long.id)
    assert long_view is not None and long_view.status == "ACTIVE"
    assert [(r[2], r[3]) for r in await stock_rows(db, [sku])] == [(10, 2)]
    with pytest.raises(Conflict) as late:
        await inventory.handle(CommitReservation(short[0].id))
    assert late.value.code is CommitReservationErrorCode.RESERVATION_NOT_ACTIVE
    released = await inventory.handle(ReleaseReservation(short[0].id, "CANCELLED"))
    assert released.status is ReservationStatus.EXPIRED  # already over: a no-op


async def test_expire_due_sweeps_with_the_service_clock(
    inventory: InventoryService, clock: FakeClock
) -> None:
    await drain_expired(inventory, clock)
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 1)
    reservation = await inventory.handle(ReserveStock(reference=ref("o"), lines=[(sku, 1)], ttl_seconds=10))
    clock.advance(9)
    assert await inventory.expire_due() == 0
    clock.advance(1)
    assert await inventory.expire_due() == 1
    assert await inventory.queries.availability([sku]) == {sku: 1}
    view = await inventory.queries.reservation(reservation.id)
    assert view is not None and view.status == "EXPIRED"
