"""`mercato export`: the whole catalog with its stock, in one consistent snapshot, in an import format.

One read-only REPEATABLE READ transaction over both contexts' schemas, so the products, their
variants and their stock are of one moment. Products are read in slug order, a page at a time (each
context's reads in its own adapter), and written as they come: memory stays flat whatever the size.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mercato.app.bulk.records import FileFormat
from mercato.app.bulk.writers import CsvWriter, LumaWriter, jsonl_header, jsonl_products
from mercato.app.demo_data import CategorySpec, ProductSpec, VariantSpec, WarehouseSpec
from mercato.catalog.adapters.bulk import CatalogBulk
from mercato.catalog.bootstrap import CatalogService
from mercato.inventory.adapters.bulk import InventoryBulk
from mercato.platform.types import Money

PAGE = 1_000
Progress = Callable[[int], None]


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    products: int
    variants: int

    def describe(self) -> str:
        return f"{self.path}: {self.products:,} products, {self.variants:,} variants"


async def export_catalog(
    catalog: CatalogService, path: Path, file_format: FileFormat, *, progress: Progress | None = None
) -> ExportSummary:
    products = variants = 0
    async with catalog.db.connect() as conn:
        await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            catalog_bulk, inventory_bulk = CatalogBulk(conn), InventoryBulk(conn)
            categories = [
                CategorySpec(r.slug, r.name, r.parent, r.position)
                for r in await catalog_bulk.export_categories()
            ]
            warehouses = [WarehouseSpec(r.code, r.name) for r in await inventory_bulk.export_warehouses()]
            with path.open("w", encoding="utf-8", newline="") as out:
                write, close = _writer(out, file_format, categories, warehouses)
                after = ""
                while True:
                    rows = await catalog_bulk.export_products(after, PAGE)
                    if not rows:
                        break
                    skus = [v["sku"] for r in rows for v in r.variants]
                    stock = await inventory_bulk.export_stock(skus)
                    page = [_spec(r, stock) for r in rows]
                    write(page)
                    products += len(page)
                    variants += len(skus)
                    after = rows[-1].slug
                    if progress is not None:
                        progress(products)
                close()
    if file_format is FileFormat.LUMA:
        tree = LumaWriter.category_tree(categories)
        path.with_name("categories.json").write_text(json.dumps(tree, ensure_ascii=False, indent=1) + "\n")
    return ExportSummary(path, products, variants)


def _writer(
    out: Any, file_format: FileFormat, categories: list[CategorySpec], warehouses: list[WarehouseSpec]
) -> tuple[Callable[[list[ProductSpec]], None], Callable[[], None]]:
    if file_format is FileFormat.JSONL:
        jsonl_header(out, warehouses, categories)
        return (lambda page: jsonl_products(out, page)), (lambda: None)
    if file_format is FileFormat.CSV:
        return CsvWriter(out).products, (lambda: None)
    luma = LumaWriter(out, categories)
    return luma.products, luma.close


def _spec(row: Any, stock: dict[str, list[tuple[str, int]]]) -> ProductSpec:
    return ProductSpec(
        slug=row.slug,
        name=row.name,
        description=row.description,
        category_slug=row.category,
        attributes=row.attributes,
        media=tuple(row.media),
        published=row.published,
        variants=tuple(
            VariantSpec(
                v["sku"],
                Money(v["price_amount"], v["currency"]),
                v["attributes"],
                tuple(stock.get(v["sku"], ())),
            )
            for v in row.variants
        ),
    )
