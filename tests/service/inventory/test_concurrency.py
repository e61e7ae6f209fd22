"""Races on real PostgreSQL: no oversell, no negative stock, no deadlock, exact counts."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

from mercato.inventory import (
    AdjustStock,
    ExpireReservations,
    Reservation,
    ReserveStock,
    ReserveStockErrorCode,
)
from mercato.inventory.bootstrap import InventoryService
from mercato.inventory.domain.rules import InsufficientStock
from mercato.platform.db import Database
from tests.conftest import ref
from tests.service.inventory.conftest import FakeClock, new_sku, new_warehouse, outbox, stock_rows, stock_up
from tests.service.inventory.test_reservations import drain_expired


def split(outcomes: list[Reservation | BaseException]) -> tuple[list[Reservation], list[BaseException]]:
    won = [o for o in outcomes if isinstance(o, Reservation)]
    lost = [o for o in outcomes if not isinstance(o, Reservation)]
    return won, lost


def assert_all_short_of_stock(errors: list[BaseException]) -> None:
    # Anything else (a deadlock, a serialization failure, a CHECK violation) fails the test here.
    assert all(isinstance(e, InsufficientStock) for e in errors), {type(e).__name__ for e in errors}
    assert all(
        e.code is ReserveStockErrorCode.INSUFFICIENT_STOCK for e in errors if isinstance(e, InsufficientStock)
    )


async def test_fifty_buyers_for_ten_units(inventory: InventoryService, db: Database) -> None:
    w1, w2 = await new_warehouse(inventory), await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, w1, 6)
    await stock_up(inventory, sku, w2, 4)
    outcomes = await asyncio.gather(
        *(inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 1)])) for _ in range(50)),
        return_exceptions=True,
    )
    won, lost = split(outcomes)
    assert (len(won), len(lost)) == (10, 40)
    assert_all_short_of_stock(lost)
    rows = await stock_rows(db, [sku])
    assert [(r[2], r[3]) for r in rows] == [(6, 6), (4, 4)] or [(r[2], r[3]) for r in rows] == [
        (4, 4),
        (6, 6),
    ]
    assert await inventory.queries.availability([sku]) == {sku: 0}
    events = await outbox(db, "inventory.stock_level_changed", sku)
    versions = [e.payload["version"] for e in events]
    assert len(versions) == 2 + 10 and len(set(versions)) == len(versions)
    latest = max(events, key=lambda e: e.payload["version"])
    assert (latest.payload["available"], latest.payload["version"]) == (0, sum(r[4] for r in rows))


async def test_opposite_line_orders_never_deadlock(inventory: InventoryService, db: Database) -> None:
    w1, w2 = await new_warehouse(inventory), await new_warehouse(inventory)
    a, b = new_sku(), new_sku()
    for sku in (a, b):
        await stock_up(inventory, sku, w1, 8)
        await stock_up(inventory, sku, w2, 7)
    requests = [[(a, 1), (b, 1)] if i % 2 else [(b, 1), (a, 1)] for i in range(40)]
    outcomes = await asyncio.gather(
        *(inventory.handle(ReserveStock(reference=ref("order"), lines=lines)) for lines in requests),
        return_exceptions=True,
    )
    won, lost = split(outcomes)
    assert (len(won), len(lost)) == (15, 25)
    assert_all_short_of_stock(lost)
    assert await inventory.queries.availability([a, b]) == {a: 0, b: 0}
    assert all(0 <= r[3] <= r[2] for r in await stock_rows(db, [a, b]))


async def test_concurrent_retries_of_one_reference_reserve_once(
    inventory: InventoryService, db: Database
) -> None:
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 10)
    reference = ref("order")
    outcomes = await asyncio.gather(
        *(inventory.handle(ReserveStock(reference=reference, lines=[(sku, 3)])) for _ in range(10))
    )
    assert len({r.id for r in outcomes}) == 1
    assert [(r[2], r[3]) for r in await stock_rows(db, [sku])] == [(10, 3)]
    assert len(await outbox(db, "inventory.reservation_created", outcomes[0].id)) == 1


async def test_concurrent_retries_of_one_adjustment_apply_once(
    inventory: InventoryService, db: Database
) -> None:
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    cmd = AdjustStock(
        sku=sku,
        warehouse_id=warehouse.id,
        reason="RECEIVED",
        actor="ann",
        delta=4,
        idempotency_key=ref("key"),
    )
    outcomes = await asyncio.gather(*(inventory.handle(cmd) for _ in range(10)))
    assert len({a.id for a in outcomes}) == 1
    assert [(r[2], r[3]) for r in await stock_rows(db, [sku])] == [(4, 0)]
    assert len(await inventory.queries.adjustments(sku)) == 1


async def test_sweepers_side_by_side_expire_each_reservation_once(
    inventory: InventoryService, db: Database, clock: FakeClock
) -> None:
    await drain_expired(inventory, clock)
    warehouse = await new_warehouse(inventory)
    skus = [new_sku() for _ in range(3)]
    for sku in skus:
        await stock_up(inventory, sku, warehouse, 20)
    reservations = [
        await inventory.handle(
            ReserveStock(reference=ref("o"), lines=[(skus[i % 3], 1), (skus[(i + 1) % 3], 1)], ttl_seconds=30)
        )
        for i in range(24)
    ]
    now = clock.now + timedelta(seconds=30)

    async def sweeper() -> int:
        total = 0
        while swept := await inventory.handle(ExpireReservations(now=now, limit=3)):
            total += swept
        return total

    counts = await asyncio.gather(*(sweeper() for _ in range(4)))
    assert sum(counts) == 24
    for reservation in reservations:
        assert len(await outbox(db, "inventory.reservation_released", reservation.id)) == 1
    assert [(r[2], r[3]) for r in await stock_rows(db, skus)] == [(20, 0)] * 3


async def test_level_events_stay_ordered_while_new_rows_join_the_sku(
    inventory: InventoryService, db: Database
) -> None:
    """Adjustments creating rows for new warehouses race reservations of the same SKU. Folding the
    events as the catalog does (keep the highest version) must land on the real availability."""
    main = await new_warehouse(inventory)
    extra = [await new_warehouse(inventory) for _ in range(6)]
    sku = new_sku()
    await stock_up(inventory, sku, main, 20)
    adjustments = [
        inventory.handle(AdjustStock(sku=sku, warehouse_id=w.id, reason="RECEIVED", actor="ann", delta=2))
        for w in extra
    ]
    reserves = [inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 1)])) for _ in range(24)]
    mixed = [
        job
        for pair in zip(reserves, adjustments + [None] * 24, strict=False)
        for job in pair
        if job is not None
    ]
    outcomes = await asyncio.gather(*mixed, return_exceptions=True)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert_all_short_of_stock(errors)
    events = await outbox(db, "inventory.stock_level_changed", sku)
    versions = [e.payload["version"] for e in events]
    assert len(versions) == len(set(versions)) == 1 + len(outcomes) - len(errors)
    rows = await stock_rows(db, [sku])
    latest = max(events, key=lambda e: e.payload["version"])
    assert latest.payload == {
        "sku": sku,
        "available": sum(r[2] - r[3] for r in rows),
        "version": sum(r[4] for r in rows),
    }
    assert all(0 <= r[3] <= r[2] for r in rows)


async def test_flips_folded_by_version_land_on_the_real_state_while_rows_join(
    inventory: InventoryService, db: Database
) -> None:
    """Reservations sell a SKU out while adjustments add units in new warehouses. Its flips, ordered
    by version, alternate between in and out, and the newest says what the stock says."""
    main = await new_warehouse(inventory)
    extra = [await new_warehouse(inventory) for _ in range(3)]
    sku = new_sku()
    await stock_up(inventory, sku, main, 3)
    adjustments = [
        inventory.handle(AdjustStock(sku=sku, warehouse_id=w.id, reason="RECEIVED", actor="ann", delta=1))
        for w in extra
    ]
    reserves = [inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 1)])) for _ in range(9)]
    outcomes = await asyncio.gather(*reserves[:3], *adjustments, *reserves[3:], return_exceptions=True)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert_all_short_of_stock(errors)
    # A reservation that locked before a new row committed does not see that row's unit (it may
    # be refused although the unit exists): whatever is left is bought now, which sells out.
    left = sum(r[2] - r[3] for r in await stock_rows(db, [sku]))
    if left:
        await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, left)]))
    flips = sorted(
        (e.payload["version"], e.payload["in_stock"])
        for e in await outbox(db, "inventory.availability_flipped", sku)
    )
    assert len({version for version, _ in flips}) == len(flips)
    states = [in_stock for _, in_stock in flips]
    assert states[0] is True
    assert all(a != b for a, b in itertools.pairwise(states))
    rows = await stock_rows(db, [sku])
    assert sum(r[2] - r[3] for r in rows) == 0
    assert flips[-1] == (sum(r[4] for r in rows), False)
