"""After `mercato import`, the planner knows the tables' new sizes (the import ANALYZEs what it wrote),
in a database of this module's own so the counts are exact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from mercato.app import demo_data
from mercato.app.bulk import readers
from mercato.app.bulk.importer import import_records
from mercato.app.bulk.writers import jsonl_header, jsonl_products
from mercato.catalog.bootstrap import CatalogService
from mercato.inventory.bootstrap import InventoryService, inventory_outbox
from mercato.platform.cache import Cache
from mercato.platform.db import Database

WRITTEN = ("catalog.products", "catalog.variants", "inventory.stock")


async def _scalar(db: Database, sql: str, **params: Any) -> Any:
    async with db.connect() as conn:
        return await conn.scalar(text(sql), params)


async def test_an_import_leaves_the_planner_statistics_of_what_it_wrote_current(
    own_db: Database, redis: Any, namespace: str, tmp_path: Path
) -> None:
    # Given the demo catalog as a file, and an empty database that has never been analyzed
    plan = demo_data.generate(40)
    path = tmp_path / "demo.jsonl"
    with path.open("w") as out:
        jsonl_header(out, plan.warehouses, plan.categories)
        jsonl_products(out, plan.products)
    catalog = CatalogService(own_db, Cache(redis, namespace, enabled=False), namespace)
    inventory = InventoryService(own_db, inventory_outbox(namespace))

    # When it is imported
    summary = await import_records(catalog, inventory, readers.read(path))

    # Then the tables it wrote were analyzed at its end: the planner's row counts are the tables'
    # (exact: ANALYZE reads every row of tables this small), not the empty tables' of before
    assert summary.rejected == () and summary.products_created == 40
    for t in WRITTEN:
        estimated = await _scalar(own_db, "SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)", t=t)
        assert estimated == await _scalar(own_db, f"SELECT count(*) FROM {t}") > 0, t
