"""Small builders for catalog tests (unique slugs and SKUs every call), and a listing read page by page."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text

from mercato.app.bulk.importer import import_records
from mercato.app.bulk.records import ImportRecords, ImportSummary
from mercato.app.contexts import MIGRATIONS
from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.domain.commands import CreateCategory, CreateProduct, NewVariant
from mercato.catalog.service_layer.listing import Cursor, ListingRequest
from mercato.catalog.service_layer.views import ProductView
from mercato.inventory.bootstrap import InventoryService, inventory_outbox
from mercato.platform.cache import Cache
from mercato.platform.db import Database
from mercato.platform.engines import EngineUrls
from mercato.platform.migrations import migrate
from mercato.platform.types import Money
from tests.conftest import own_database, ref


async def a_category(
    catalog: CatalogService, parent: uuid.UUID | None = None, name: str = "Tops"
) -> uuid.UUID:
    category_id: uuid.UUID = await catalog.handle(
        CreateCategory(slug=ref("cat"), name=name, parent_id=parent)
    )
    return category_id


async def a_product(
    catalog: CatalogService,
    *,
    prices: tuple[int, ...] = (2500,),
    name: str | None = None,
    published: bool = True,
    **fields: Any,
) -> tuple[uuid.UUID, list[str]]:
    slug = ref("p")
    skus = [f"{slug.upper()}-{i}" for i in range(len(prices))]
    product_id: uuid.UUID = await catalog.handle(
        CreateProduct(
            slug=slug,
            name=name or f"Product {slug}",
            published=published,
            variants=[
                NewVariant(sku=sku, price=Money(price, "USD"), attributes={"size": ["S", "M", "L"][i % 3]})
                for i, (sku, price) in enumerate(zip(skus, prices, strict=True))
            ],
            **fields,
        )
    )
    return product_id, skus


async def all_pages(catalog: CatalogService, request: ListingRequest) -> list[ProductView]:
    """Every product of `request`'s listing, following its cursors page by page; every page but the
    last must be full."""
    seen: list[ProductView] = []
    after: str | None = None
    while True:
        page = await catalog.queries.list_products(
            ListingRequest(
                first=request.first,
                after=after,
                filter=request.filter,
                sort=request.sort,
                descending=request.descending,
            )
        )
        seen.extend(page.items)
        if not page.has_next_page:
            return seen
        assert len(page.items) == request.first
        after = Cursor.after_product(page.items[-1], request.sort, request.descending).encode()


@contextlib.asynccontextmanager
async def imported_catalog(
    engine_urls: EngineUrls, redis: Any, namespace: str, name: str, records: ImportRecords
) -> AsyncIterator[tuple[CatalogService, ImportSummary]]:
    """A catalog in a database of its own (dropped afterwards) holding `records`, imported, with the
    availability read model filled from the stock as the catalog's consumer would fill it."""
    async with own_database(engine_urls, f"{name}_{secrets.token_hex(4)}") as url:
        db = Database(url, pool_size=2)
        try:
            await migrate(db, MIGRATIONS)
            catalog = CatalogService(db, Cache(redis, namespace, enabled=False), namespace)
            summary = await import_records(
                catalog, InventoryService(db, inventory_outbox(namespace)), records
            )
            async with db.connect() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO catalog.sku_availability (sku, available, version) "
                        "SELECT sku, sum(on_hand - reserved), sum(version) FROM inventory.stock GROUP BY sku"
                    )
                )
                await conn.commit()
            yield catalog, summary
        finally:
            await db.dispose()
