"""`mercato import` and the inventory's audit trail, on the session database: a stock row an import
creates starts from its initial count, audited by the import's one `stock_imports` row (no COUNTED
adjustment per row); a count it changes later is a COUNTED adjustment; and `mercato verify`'s stock
check (initial + adjustments - committed = on hand) holds throughout."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from mercato.app import demo_data
from mercato.app.bulk import readers
from mercato.app.bulk.importer import import_records
from mercato.app.bulk.records import ImportSummary
from mercato.app.bulk.writers import jsonl_header, jsonl_products
from mercato.app.invariants import Limits, Scope, check_stock
from mercato.catalog.adapters.bulk import CatalogBulk
from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.domain.commands import CreateProduct, NewVariant
from mercato.inventory import AdjustStock
from mercato.inventory.bootstrap import InventoryService, inventory_outbox
from mercato.platform.cache import Cache
from mercato.platform.db import Database
from mercato.platform.errors import Conflict
from mercato.platform.types import Money
from tests.conftest import ref


def _file(path: Path, tag: str, main_units: int) -> Path:
    """Two products of two variants each, counted in the demo's `main` and `east` warehouses."""
    plan = demo_data.generate(0)
    products = [
        demo_data.ProductSpec(
            slug=f"{tag}-{i}",
            name=f"Audit Product {i}",
            description="",
            category_slug="men-tees",
            attributes={},
            media=(),
            published=True,
            variants=tuple(
                demo_data.VariantSpec(
                    f"{tag}-{i}-{size}".upper(),
                    Money(1_500, "USD"),
                    {"size": size},
                    (("main", main_units), ("east", 2)),
                )
                for size in ("S", "M")
            ),
        )
        for i in range(2)
    ]
    with path.open("w") as out:
        jsonl_header(out, plan.warehouses, plan.categories)
        jsonl_products(out, products)
    return path


async def _rows(db: Database, sql: str, **params: Any) -> list[Any]:
    async with db.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def _stock_violations(db: Database, skus: list[str]) -> list[str]:
    async with db.connect() as conn:
        result = await check_stock(conn, Scope(skus=skus), Limits(), datetime.now(UTC))
    assert result.checked > 0
    return [f"{v.subject}: {v.detail}" for v in result.violations]


async def test_created_rows_start_from_their_initial_count_and_later_counts_are_adjustments(
    db: Database, redis: Redis, namespace: str, tmp_path: Path
) -> None:
    catalog = CatalogService(db, Cache(redis, namespace, enabled=False), namespace)
    inventory = InventoryService(db, inventory_outbox(namespace))
    tag = ref("audit")

    async def run(main_units: int, name: str) -> ImportSummary:
        summary = await import_records(
            catalog, inventory, readers.read(_file(tmp_path / name, tag, main_units))
        )
        assert summary.rejected == ()
        return summary

    # When a file of 4 new SKUs, counted in two warehouses, is imported
    first = await run(5, "first.jsonl")
    skus = [f"{tag}-{i}-{size}".upper() for i in range(2) for size in ("S", "M")]

    # Then its 8 stock rows start from their counts, audited by one stock_imports row, no adjustments
    assert first.stock_rows_written == 8
    stock = await _rows(
        db,
        "SELECT s.on_hand, s.initial, i.actor, i.rows FROM inventory.stock s "
        "JOIN inventory.stock_imports i ON i.id = s.import_id WHERE s.sku = ANY(:s)",
        s=skus,
    )
    assert sorted((r.on_hand, r.initial) for r in stock) == [(2, 2)] * 4 + [(5, 5)] * 4
    assert {(r.actor, r.rows) for r in stock} == {("import", 8)}
    assert await _rows(db, "SELECT 1 FROM inventory.adjustments WHERE sku = ANY(:s)", s=skus) == []
    # and the SKU's audit trail lists each initial count as a COUNTED entry by the import
    trail = await inventory.queries.adjustments(skus[0])
    assert sorted((a.delta, a.on_hand_after, a.reason, a.actor) for a in trail) == [
        (2, 2, "COUNTED", "import"),
        (5, 5, "COUNTED", "import"),
    ]
    assert len({a.id for a in trail}) == 2
    assert await _stock_violations(db, skus) == []

    # When units arrive, and a later file counts `main` again
    main = next(r.warehouse_id for r in trail if r.delta == 5)
    await inventory.handle(
        AdjustStock(sku=skus[0], warehouse_id=main, reason="RECEIVED", actor="test", delta=3)
    )
    second = await run(9, "second.jsonl")

    # Then each changed count is a COUNTED adjustment on top of the initial count, no new stock_imports
    # row is written (the import created no row), and the stock check still holds
    assert second.stock_rows_written == 4
    counted = await _rows(
        db,
        "SELECT sku, delta FROM inventory.adjustments WHERE sku = ANY(:s) AND reason = 'COUNTED'",
        s=skus,
    )
    expected = [(skus[0], 9 - (5 + 3))] + [(sku, 9 - 5) for sku in skus[1:]]
    assert sorted(tuple(r) for r in counted) == sorted(expected)
    assert (
        len(await _rows(db, "SELECT DISTINCT import_id FROM inventory.stock WHERE sku = ANY(:s)", s=skus))
        == 1
    )
    assert await _stock_violations(db, skus) == []
    assert [(a.reason, a.delta) for a in await inventory.queries.adjustments(skus[0])][:2] == [
        ("COUNTED", 1),
        ("RECEIVED", 3),
    ]


async def test_a_sku_another_writer_creates_during_the_import_fails_it_whole_with_a_conflict(
    db: Database, redis: Redis, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = CatalogService(db, Cache(redis, namespace, enabled=False), namespace)
    inventory = InventoryService(db, inventory_outbox(namespace))
    tag = ref("race")
    path = _file(tmp_path / "race.jsonl", tag, main_units=5)
    raced = f"{tag}-1-M".upper()
    staged = CatalogBulk.stage

    async def stage_then_lose_the_race(bulk: CatalogBulk, *args: Any) -> None:
        # After the import proved its SKUs new, the API creates a product with one of them.
        await staged(bulk, *args)
        await catalog.handle(
            CreateProduct(
                slug=ref("racer"),
                name="Racer",
                variants=[NewVariant(sku=raced, price=Money(900, "USD"), attributes={})],
            )
        )

    monkeypatch.setattr(CatalogBulk, "stage", stage_then_lose_the_race)

    # When the import then writes its rows proven new
    with pytest.raises(Conflict) as refused:
        await import_records(catalog, inventory, readers.read(path))

    # Then it fails whole with a conflict saying what to do, and nothing of the file was written
    assert "run the import again" in refused.value.message
    slugs = [f"{tag}-{i}" for i in range(2)]
    assert await _rows(db, "SELECT 1 FROM catalog.products WHERE slug = ANY(:s)", s=slugs) == []
    skus = [f"{tag}-{i}-{size}".upper() for i in range(2) for size in ("S", "M")]
    assert await _rows(db, "SELECT sku FROM inventory.stock WHERE sku = ANY(:s)", s=skus) == []
    variants = await _rows(db, "SELECT sku FROM catalog.variants WHERE sku = ANY(:s)", s=skus)
    assert [r.sku for r in variants] == [raced]
