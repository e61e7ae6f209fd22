"""stock_level_changed: one per SKU per transaction, carrying availability and the summed version."""

from __future__ import annotations

from sqlalchemy import text

from mercato.inventory import AdjustStock, CommitReservation, ReleaseReservation, ReserveStock
from mercato.inventory.bootstrap import InventoryService
from mercato.platform.config import Settings
from mercato.platform.db import Database
from tests.conftest import ref
from tests.service.inventory.conftest import new_sku, new_warehouse, outbox, stock_rows, stock_up


async def levels(db: Database, sku: str) -> list[tuple[int, int]]:
    return [
        (e.payload["available"], e.payload["version"])
        for e in await outbox(db, "inventory.stock_level_changed", sku)
    ]


async def version_sum(db: Database, sku: str) -> int:
    return sum(row[4] for row in await stock_rows(db, [sku]))


async def test_reserve_writes_one_level_event_per_sku(
    inventory: InventoryService, db: Database, settings: Settings
) -> None:
    w1, w2 = await new_warehouse(inventory), await new_warehouse(inventory)
    a, b = new_sku(), new_sku()
    await stock_up(inventory, a, w1, 2)
    await stock_up(inventory, a, w2, 2)
    await stock_up(inventory, b, w1, 5)
    before_a, before_b = len(await levels(db, a)), len(await levels(db, b))
    # `a` is taken from both warehouses: still one event for it.
    await inventory.handle(ReserveStock(reference=ref("order"), lines=[(a, 3), (b, 1)]))
    after_a, after_b = await levels(db, a), await levels(db, b)
    assert after_a[before_a:] == [(1, await version_sum(db, a))] == [(1, 4)]
    assert after_b[before_b:] == [(4, await version_sum(db, b))] == [(4, 2)]
    events = await outbox(db, "inventory.stock_level_changed", a)
    assert set(events[-1].payload) == {"sku", "available", "version"}
    async with db.connect() as conn:
        subject = await conn.execute(
            text("SELECT subject FROM inventory.outbox WHERE id = :id"), {"id": events[-1].id}
        )
        assert subject.scalar_one() == f"{settings.namespace}.inventory.v1.stock_level_changed"


async def test_version_strictly_increases_and_tracks_availability(
    inventory: InventoryService, db: Database
) -> None:
    w1, w2 = await new_warehouse(inventory), await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, w1, 5)
    first = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 2)]))
    await stock_up(inventory, sku, w2, 1)  # a new row joins the SKU
    second = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 4)]))
    await inventory.handle(ReleaseReservation(first.id, "CANCELLED"))
    events_before_commit = await levels(db, sku)
    await inventory.handle(CommitReservation(second.id))
    # Committing moves on hand and reserved together: availability unchanged, no level event.
    assert await levels(db, sku) == events_before_commit
    await inventory.handle(
        AdjustStock(sku=sku, warehouse_id=w2.id, reason="COUNTED", actor="a", set_on_hand=7)
    )
    seen = await levels(db, sku)
    assert [available for available, _ in seen] == [5, 3, 4, 0, 2, 9]
    versions = [version for _, version in seen]
    assert versions == sorted(set(versions))
    assert versions[-1] == await version_sum(db, sku)
    assert await inventory.queries.availability([sku]) == {sku: 9}


async def flips(db: Database, sku: str) -> list[tuple[bool, int, int]]:
    return [
        (e.payload["in_stock"], e.payload["available"], e.payload["version"])
        for e in await outbox(db, "inventory.availability_flipped", sku)
    ]


async def test_availability_flips_only_when_it_crosses_zero(
    inventory: InventoryService, db: Database
) -> None:
    """A new SKU starts out of stock, so its first units are a flip; a change that stays on one side
    of zero is a level event only. A flip carries the version of its transaction's level event."""
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 2)
    first = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 1)]))
    second = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 1)]))
    await inventory.handle(CommitReservation(second.id))
    await inventory.handle(ReleaseReservation(first.id, "CANCELLED"))
    await stock_up(inventory, sku, warehouse, 3)
    assert [available for available, _ in await levels(db, sku)] == [2, 1, 0, 1, 4]
    seen = await flips(db, sku)
    assert [(in_stock, available) for in_stock, available, _ in seen] == [(True, 2), (False, 0), (True, 1)]
    level_versions = {version: available for available, version in await levels(db, sku)}
    assert all(level_versions[version] == available for _, available, version in seen)
    flip_versions = [version for _, _, version in seen]
    assert flip_versions == sorted(set(flip_versions))
    first_flip = (await outbox(db, "inventory.availability_flipped", sku))[0]
    assert first_flip.payload == {"sku": sku, "in_stock": True, "available": 2, "version": seen[0][2]}
