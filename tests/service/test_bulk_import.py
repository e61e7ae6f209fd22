"""`mercato import` / `mercato export` through the services, in a database of this module's own.

The exporter writes the whole catalog, so these tests need a catalog nobody else writes to: the module
creates a database (unique name), migrates it and drops it at the end. Slugs and SKUs still come from
`ref()` so the tests of this module do not depend on each other's order.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from mercato.app import demo_data
from mercato.app.bulk import readers
from mercato.app.bulk.exporter import export_catalog
from mercato.app.bulk.importer import import_records
from mercato.app.bulk.records import FileFormat, ImportRecords, ImportSummary
from mercato.app.bulk.writers import jsonl_header, jsonl_products
from mercato.app.contexts import MIGRATIONS
from mercato.app.demo_data import ProductSpec, VariantSpec
from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.service_layer.imported import record_imported_levels
from mercato.inventory.bootstrap import InventoryService, inventory_outbox
from mercato.platform.cache import Cache
from mercato.platform.db import Database
from mercato.platform.engines import EngineUrls
from mercato.platform.migrations import migrate
from mercato.platform.types import Money
from tests.conftest import own_database, ref

LUMA = Path("/work/shared/data/luma/catalog.json")
HAS_LUMA = LUMA.exists()


@pytest.fixture(scope="module")
def services(own_db: Database, redis: Any, namespace: str) -> tuple[CatalogService, InventoryService]:
    return (
        CatalogService(own_db, Cache(redis, namespace, enabled=False), namespace),
        InventoryService(own_db, inventory_outbox(namespace)),
    )


async def _import(services: tuple[CatalogService, InventoryService], path: Path, **kw: Any) -> ImportSummary:
    return await import_records(*services, readers.read(path), **kw)


async def _scalar(db: Database, sql: str, **params: Any) -> Any:
    async with db.connect() as conn:
        return await conn.scalar(text(sql), params)


async def _outbox(db: Database) -> list[tuple[str, dict[str, Any]]]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT subject, body FROM catalog.outbox "
                "UNION ALL SELECT subject, body FROM inventory.outbox"
            )
        )
        return [(r.subject, orjson.loads(r.body)["payload"]) for r in rows]


def _catalog_file(tmp_path: Path, products: list[ProductSpec], name: str = "catalog.jsonl") -> Path:
    path = tmp_path / name
    plan = demo_data.generate(0)
    with path.open("w") as out:
        jsonl_header(out, plan.warehouses, plan.categories)
        jsonl_products(out, products)
    return path


def _products(count: int, *, units: int = 5) -> list[ProductSpec]:
    """`count` products of 3 variants each, stock in the demo's two warehouses."""
    tag = ref("bulk")
    return [
        ProductSpec(
            slug=f"{tag}-{i}",
            name=f"Bulk Product {i}",
            description="line one\nline two",
            category_slug="men-tees",
            attributes={"material": ["Cotton"], "style": "Classic"},
            media=(f"https://cdn.example.com/{tag}-{i}.jpg",),
            published=i % 5 != 0,
            variants=tuple(
                VariantSpec(
                    f"{tag}-{i}-{size}".upper(),
                    Money(1_000 + 100 * i + n, "USD"),
                    {"size": size},
                    (("main", units), ("east", n)),
                )
                for n, size in enumerate(("S", "M", "L"))
            ),
        )
        for i in range(count)
    ]


async def test_jsonl_import_writes_rows_stock_and_batched_events_and_a_second_run_is_a_no_op(
    services: tuple[CatalogService, InventoryService], own_db: Database, tmp_path: Path
) -> None:
    # Given a file of 12 new products with 3 variants each and stock in two warehouses
    products = _products(12)
    path = _catalog_file(tmp_path, products)
    before = len(await _outbox(own_db))

    # When it is imported
    first = await _import(services, path)

    # Then every product, variant and non-zero stock row is written, with one event per batch
    assert (first.rejected, first.products_created, first.products_updated) == ((), 12, 0)
    assert first.variants_written == 36
    assert first.stock_rows_written == 12 * 3 + 12 * 2  # every `main` row, `east` rows of 1 and 2 units
    slugs = [p.slug for p in products]
    stored = await _scalar(own_db, "SELECT count(*) FROM catalog.products WHERE slug = ANY(:s)", s=slugs)
    assert stored == 12
    on_hand = await _scalar(
        own_db,
        "SELECT sum(on_hand) FROM inventory.stock WHERE sku = ANY(:s)",
        s=[v.sku for p in products for v in p.variants],
    )
    assert on_hand == 12 * (3 * 5 + 0 + 1 + 2)
    events = (await _outbox(own_db))[before:]
    imported = [payload for subject, payload in events if subject.endswith(".products_imported")]
    levels = [payload for subject, payload in events if subject.endswith(".stock_levels_imported")]
    ids = {str(i) for i in (await _ids(own_db, slugs)).values()}
    assert len(imported) == 1 and set(imported[0]["created"]) == ids and imported[0]["updated"] == []
    assert len(levels) == 1 and len(levels[0]["levels"]) == 36
    assert {lv["sku"]: lv["available"] for lv in levels[0]["levels"]}[products[0].variants[2].sku] == 5 + 2
    assert levels[0]["adjustments"] == first.stock_rows_written
    assert first.events == len(events)

    # When the same file is imported again
    again = await _import(services, path)

    # Then nothing changes and no event is written
    assert (again.rejected, again.changes, again.events) == ((), 0, 0)
    assert len(await _outbox(own_db)) == before + len(events)


async def _ids(db: Database, slugs: list[str]) -> dict[str, Any]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text("SELECT slug, id FROM catalog.products WHERE slug = ANY(:s)"), {"s": slugs}
        )
        return {r.slug: r.id for r in rows}


@pytest.mark.parametrize("file_format", [FileFormat.JSONL, FileFormat.CSV])
async def test_import_export_import_is_a_no_op(
    services: tuple[CatalogService, InventoryService],
    own_db: Database,
    tmp_path: Path,
    file_format: FileFormat,
) -> None:
    # Given a catalog imported from a file
    await _import(services, _catalog_file(tmp_path, _products(5)))
    outbox = len(await _outbox(own_db))

    # When it is exported and the export imported back
    exported = tmp_path / f"export.{file_format.value}"
    summary = await export_catalog(services[0], exported, file_format)
    again = await import_records(*services, readers.read(exported))

    # Then the export holds every product, and importing it changes nothing and emits nothing
    total = await _scalar(own_db, "SELECT count(*) FROM catalog.products")
    assert summary.products == total
    assert (again.rejected, again.products_read, again.changes, again.events) == ((), total, 0, 0)
    assert len(await _outbox(own_db)) == outbox


async def test_a_changed_row_updates_that_product_only(
    services: tuple[CatalogService, InventoryService], own_db: Database, tmp_path: Path
) -> None:
    # Given imported products, and the same file with one price and one stock count changed
    products = _products(3)
    await _import(services, _catalog_file(tmp_path, products))
    changed = list(products)
    first = changed[1].variants[0]
    cheaper = VariantSpec(
        first.sku, Money(first.price.amount - 50, "USD"), first.attributes, (("main", 9), ("east", 0))
    )
    changed[1] = ProductSpec(**{**changed[1].__dict__, "variants": (cheaper, *changed[1].variants[1:])})

    # When the changed file is imported
    summary = await _import(services, _catalog_file(tmp_path, changed, "changed.jsonl"))

    # Then one product is updated (one variant, one stock row), its price index follows
    assert (summary.products_created, summary.products_updated) == (0, 1)
    assert (summary.variants_written, summary.stock_rows_written) == (1, 1)
    async with own_db.connect() as conn:
        span = (
            await conn.execute(
                text("SELECT min_price_amount, max_price_amount FROM catalog.products WHERE slug = :s"),
                {"s": changed[1].slug},
            )
        ).one()
    assert tuple(span) == (first.price.amount - 50, changed[1].variants[-1].price.amount)
    adjustment = await _scalar(
        own_db,
        "SELECT delta FROM inventory.adjustments WHERE sku = :s AND reason = 'COUNTED' "
        "ORDER BY created_at DESC LIMIT 1",
        s=first.sku,
    )
    assert adjustment == 9 - 5


async def test_rejected_rows_are_reported_and_nothing_of_the_file_is_written(
    services: tuple[CatalogService, InventoryService], own_db: Database, tmp_path: Path
) -> None:
    # Given a file whose good products sit beside bad rows of every kind
    good = _products(2)
    path = _catalog_file(tmp_path, good)
    tag = ref("bad")
    bad_lines = [
        '{"slug": "not json',
        orjson.dumps(
            {
                "slug": f"{tag}-a",
                "name": "Bad sku",
                "variants": [{"sku": "has space", "price": "1.00", "currency": "USD"}],
            }
        ),
        orjson.dumps({"slug": f"{tag}-b", "name": "Bad\u0007name", "variants": []}),
        orjson.dumps(
            {
                "slug": f"{tag}-c",
                "name": "Negative",
                "variants": [{"sku": f"{tag}-C", "price": "-1.00", "currency": "USD"}],
            }
        ),
        orjson.dumps({"slug": f"{tag}-d", "name": "No category", "category": "no-such-category"}),
        orjson.dumps(
            {
                "slug": f"{tag}-e",
                "name": "Dup",
                "variants": [{"sku": good[0].variants[0].sku, "price": "1.00", "currency": "USD"}],
            }
        ),
    ]
    with path.open("a") as out:
        for line in bad_lines:
            out.write((line.decode() if isinstance(line, bytes) else line) + "\n")
    outbox = len(await _outbox(own_db))

    # When it is imported
    summary = await _import(services, path)

    # Then every bad row is reported with its line and reason, and nothing was written
    reasons = {r.where: r.reason for r in summary.rejected}
    first_bad = 2 + len(demo_data.categories()) + len(good) + 1
    assert reasons[f"line {first_bad}"].startswith("not valid JSON")
    assert "variants.0.sku must be letters" in reasons[f"line {first_bad + 1}"]
    assert "control character" in reasons[f"line {first_bad + 2}"]
    assert "price" in reasons[f"line {first_bad + 3}"]
    assert "SKU also used at" in reasons[f"line {first_bad + 5}"]
    assert not summary.written
    assert (
        await _scalar(
            own_db, "SELECT count(*) FROM catalog.products WHERE slug = ANY(:s)", s=[p.slug for p in good]
        )
        == 0
    )
    assert len(await _outbox(own_db)) == outbox

    # And a row the database refuses (unknown category) also leaves nothing written
    bad = tmp_path / "unknown-category.jsonl"
    bad.write_text(bad_lines[4].decode() + "\n" if isinstance(bad_lines[4], bytes) else bad_lines[4])
    refused = await _import(services, bad)
    assert [(r.ref, r.reason) for r in refused.rejected] == [
        (f"{tag}-d", "unknown category 'no-such-category'")
    ]


async def test_a_sku_of_another_product_is_refused_by_the_database_check(
    services: tuple[CatalogService, InventoryService], own_db: Database, tmp_path: Path
) -> None:
    # Given an imported product, and a file giving one of its SKUs to a new product
    owner = _products(1)
    await _import(services, _catalog_file(tmp_path, owner))
    thief = ProductSpec(**{**_products(1)[0].__dict__, "variants": owner[0].variants[:1]})
    outbox = len(await _outbox(own_db))

    # When that file is imported
    summary = await _import(services, _catalog_file(tmp_path, [thief], "thief.jsonl"))

    # Then it is refused, naming the owner, and the new product does not exist
    assert [r.reason for r in summary.rejected] == [
        f"SKU belongs to product {owner[0].slug!r}, not {thief.slug!r}"
    ]
    assert await _scalar(own_db, "SELECT count(*) FROM catalog.products WHERE slug = :s", s=thief.slug) == 0
    assert len(await _outbox(own_db)) == outbox


async def test_a_dry_run_counts_the_changes_and_writes_nothing(
    services: tuple[CatalogService, InventoryService], own_db: Database, tmp_path: Path
) -> None:
    # Given a file of new products (its warehouses and categories already there)
    await _import(services, _catalog_file(tmp_path, [], "header.jsonl"))
    products = _products(4)
    path = _catalog_file(tmp_path, products)
    outbox = len(await _outbox(own_db))

    # When it is imported with a dry run
    summary = await _import(services, path, dry_run=True)

    # Then the changes are counted but no product, stock row or event exists
    assert (summary.dry_run, summary.products_created, summary.variants_written) == (True, 4, 12)
    assert summary.events == 2
    assert (
        await _scalar(
            own_db, "SELECT count(*) FROM catalog.products WHERE slug = ANY(:s)", s=[p.slug for p in products]
        )
        == 0
    )
    skus = [v.sku for p in products for v in p.variants]
    assert await _scalar(own_db, "SELECT count(*) FROM inventory.stock WHERE sku = ANY(:s)", s=skus) == 0
    assert len(await _outbox(own_db)) == outbox


async def test_imported_levels_feed_the_catalogs_availability_read_model(
    services: tuple[CatalogService, InventoryService], own_db: Database
) -> None:
    # Given a SKU out of stock in the read model
    sku = ref("AVAIL").upper()
    catalog = services[0]
    async with catalog.uow() as uow:
        flipped = await record_imported_levels([{"sku": sku, "available": 0, "version": 1}], uow)
        await uow.commit()
    assert flipped == 0

    # When a newer imported level puts it in stock, and then an older one arrives late
    async with catalog.uow() as uow:
        flipped = await record_imported_levels([{"sku": sku, "available": 7, "version": 3}], uow)
        stale = await record_imported_levels([{"sku": sku, "available": 0, "version": 2}], uow)
        await uow.commit()

    # Then the newer level is kept and counted as a flip, the stale one is ignored
    assert (flipped, stale) == (1, 0)
    assert await _scalar(own_db, "SELECT available FROM catalog.sku_availability WHERE sku = :s", s=sku) == 7


async def test_luma_import_export_import_is_a_no_op(
    engine_urls: EngineUrls, redis: Any, namespace: str, tmp_path: Path
) -> None:
    if not HAS_LUMA:
        pytest.skip(f"{LUMA} is not present (the Luma sample data is not part of the repository)")
    # (A database of its own: Luma's category names are the demo's too, and a Luma file names
    # categories by path of names.)
    async with own_database(engine_urls, f"luma_{secrets.token_hex(4)}") as url:
        database = Database(url, pool_size=2)
        try:
            await migrate(database, MIGRATIONS)
            services = (
                CatalogService(database, Cache(redis, namespace, enabled=False), namespace),
                InventoryService(database, inventory_outbox(namespace)),
            )
            await _luma_round_trip(services, tmp_path)
        finally:
            await database.dispose()


async def _luma_round_trip(services: tuple[CatalogService, InventoryService], tmp_path: Path) -> None:
    # Given the Luma catalog imported (once: its slugs are fixed)
    first = await _import(services, LUMA)
    assert first.rejected == ()
    assert {s.ref for s in first.skipped} == {"24-WG080", "24-WG085_Group"}

    # When the catalog is exported in the Luma format and imported back
    exported = tmp_path / "catalog.json"
    await export_catalog(services[0], exported, FileFormat.LUMA)
    records: ImportRecords = readers.read(exported)
    again = await import_records(*services, records)

    # Then the export names every product and importing it changes nothing
    assert {p.slug for p in records.products} >= {p.slug for p in readers.read(LUMA).products}
    assert (again.rejected, again.changes, again.events) == ((), 0, 0)


async def test_variants_a_file_leaves_out_stay_and_keep_deciding_the_price(
    services: tuple[CatalogService, InventoryService], own_db: Database, tmp_path: Path
) -> None:
    # Given an imported product, and a file giving it a new name and none of its variants
    [product] = _products(1)
    await _import(services, _catalog_file(tmp_path, [product]))
    renamed = ProductSpec(**{**product.__dict__, "name": "Renamed", "variants": ()})

    # When that file is imported
    summary = await _import(services, _catalog_file(tmp_path, [renamed], "renamed.jsonl"))

    # Then the product is renamed, its variants stay and its lowest and highest prices are still theirs
    assert (summary.products_updated, summary.variants_written, summary.stock_rows_written) == (1, 0, 0)
    async with own_db.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT p.name, p.min_price_amount, p.max_price_amount, p.currency, "
                    "count(v.id) AS variants "
                    "FROM catalog.products p JOIN catalog.variants v ON v.product_id = p.id "
                    "WHERE p.slug = :s GROUP BY p.id"
                ),
                {"s": product.slug},
            )
        ).one()
    assert (row.name, row.min_price_amount, row.max_price_amount, row.currency, row.variants) == (
        "Renamed",
        min(v.price.amount for v in product.variants),
        max(v.price.amount for v in product.variants),
        "USD",
        3,
    )
