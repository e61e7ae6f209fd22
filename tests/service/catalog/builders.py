"""Small builders for catalog tests (unique slugs and SKUs every call), and a listing read page by page."""

from __future__ import annotations

import uuid
from typing import Any

from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.domain.commands import CreateCategory, CreateProduct, NewVariant
from mercato.catalog.service_layer.listing import Cursor, ListingRequest
from mercato.catalog.service_layer.views import ProductView
from mercato.platform.types import Money
from tests.conftest import ref


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
