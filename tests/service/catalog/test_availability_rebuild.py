"""`mercato catalog rebuild-availability`: the read model rewritten from the inventory's current
levels, a page of SKUs at a time, without moving any SKU back past a newer event. In a database of
its own: a rebuild reads every SKU of the inventory."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from mercato.app import availability as rebuild
from mercato.app.availability import rebuild_availability
from mercato.catalog.bootstrap import CatalogService
from mercato.inventory import AdjustStock, CreateWarehouse, ReserveStock
from mercato.inventory.bootstrap import InventoryService, inventory_outbox
from mercato.platform.cache import Cache
from mercato.platform.db import Database
from tests.conftest import ref
from tests.service.catalog.builders import a_product


async def _rows(db: Database) -> dict[str, tuple[int, int]]:
    async with db.connect() as conn:
        rows = (
            await conn.execute(text("SELECT sku, available, version FROM catalog.sku_availability"))
        ).all()
    return {r.sku: (r.available, r.version) for r in rows}


async def _put(db: Database, sku: str, available: int, version: int) -> None:
    async with db.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO catalog.sku_availability (sku, available, version) VALUES (:s, :a, :v) "
                "ON CONFLICT (sku) DO UPDATE SET available = excluded.available, version = excluded.version"
            ),
            {"s": sku, "a": available, "v": version},
        )


async def test_a_rebuild_writes_the_inventorys_levels_and_keeps_newer_ones(
    own_db: Database, redis: Any, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SKUs with stock whose level events the catalog never got, one of them damaged in the read
    # model at its current version, one already moved past the inventory's level by a newer event
    monkeypatch.setattr(rebuild, "PAGE", 2)  # several pages
    catalog = CatalogService(own_db, Cache(redis, namespace, enabled=False), namespace)
    inventory = InventoryService(own_db, inventory_outbox(namespace))
    warehouse = await inventory.handle(CreateWarehouse(code=ref("wh"), name="Main"))
    _product, skus = await a_product(catalog, prices=(100, 200, 300, 400, 500))
    for units, sku in zip((5, 0, 3, 7, 1), skus, strict=True):
        if units:
            await inventory.handle(
                AdjustStock(sku=sku, warehouse_id=warehouse.id, reason="RECEIVED", actor="t", delta=units)
            )
    await inventory.handle(ReserveStock(reference=ref("order"), lines=[(skus[2], 3)]))
    levels = {lv.sku: lv for lv in await inventory.queries.sku_levels("", 100)}
    damaged, newer = skus[0], skus[3]
    await _put(own_db, damaged, 99, levels[damaged].version)
    await _put(own_db, newer, 2, levels[newer].version + 1)

    # When the read model is rebuilt
    done = await rebuild_availability(inventory.queries, catalog.uow, catalog.queries)

    # Then every SKU with stock rows holds the inventory's level and version, but the newer row stays
    # (the SKU without stock has no row: no row reads as 0)
    assert done.skus == 4
    assert await _rows(own_db) == {
        damaged: (5, levels[damaged].version),
        skus[2]: (0, levels[skus[2]].version),
        newer: (2, levels[newer].version + 1),
        skus[4]: (1, levels[skus[4]].version),
    }
    # One SKU came in stock (no row before); the damaged one stays in, the reserved-out one out
    assert done.flipped == 1
    assert await catalog.queries.availability(skus) == dict(zip(skus, (5, 0, 0, 2, 1), strict=True))

    # When it is rebuilt again: the same rows, nothing flips
    again = await rebuild_availability(inventory.queries, catalog.uow, catalog.queries)
    assert (again.skus, again.flipped) == (4, 0)
    assert await _rows(own_db) == {
        damaged: (5, levels[damaged].version),
        skus[2]: (0, levels[skus[2]].version),
        newer: (2, levels[newer].version + 1),
        skus[4]: (1, levels[skus[4]].version),
    }
