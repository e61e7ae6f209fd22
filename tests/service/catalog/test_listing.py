from __future__ import annotations

import uuid

from redis.asyncio import Redis

from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.service_layer.listing import ListingRequest, ProductFilter, ProductSort
from mercato.platform.cache import Cache
from mercato.platform.db import Database
from tests.conftest import ref
from tests.service.catalog.builders import a_category, a_product, all_pages


async def test_keyset_pages_walk_a_category_subtree_once_in_order(uncached_catalog: CatalogService) -> None:
    catalog = uncached_catalog
    root = await a_category(catalog)
    child = await a_category(catalog, parent=root)
    names = [f"{letter} {ref()}" for letter in "ECADB"]
    for i, name in enumerate(names):
        await a_product(catalog, name=name, category_id=child if i % 2 else root)
    await a_product(catalog, name="A hidden", category_id=root, published=False)
    listed = await all_pages(catalog, ListingRequest(first=2, filter=ProductFilter(category_id=root)))
    assert [p.name for p in listed] == sorted(names)


async def test_sorting_by_price_descending(uncached_catalog: CatalogService) -> None:
    catalog = uncached_catalog
    category = await a_category(catalog)
    for price in (300, 100, 200):
        await a_product(catalog, prices=(price, price + 50), category_id=category)
    request = ListingRequest(
        first=2, filter=ProductFilter(category_id=category), sort=ProductSort.PRICE, descending=True
    )
    assert [p.min_price_amount for p in await all_pages(catalog, request)] == [300, 200, 100]


async def test_filters_by_search_price_and_attributes(uncached_catalog: CatalogService) -> None:
    catalog = uncached_catalog
    category = await a_category(catalog)
    word = ref("zephyr").replace("-", "")
    cheap, _ = await a_product(catalog, prices=(500,), name=f"{word} tee", category_id=category)
    dear, _ = await a_product(
        catalog,
        prices=(9000, 9500),
        name="Storm shell",
        category_id=category,
        attributes={"material": ["Gore-Tex", "Nylon"]},
    )

    async def ids(**filters: object) -> set[uuid.UUID]:
        page = await catalog.queries.list_products(
            ListingRequest(first=100, filter=ProductFilter(category_id=category, **filters))  # type: ignore[arg-type]
        )
        return {p.id for p in page.items}

    assert await ids(search=word) == {cheap}
    assert await ids(price_min=1000) == {dear}
    assert await ids(price_max=600) == {cheap}
    assert await ids(price_min=9200, price_max=9300) == set()
    assert await ids(attributes=(("material", ("Nylon",)),)) == {dear}
    assert await ids(attributes=(("size", ("M",)),)) == {dear}  # the second variant of `dear` is size M
    assert await ids(attributes=(("material", ("Wool",)),)) == set()


async def test_in_stock_follows_the_availability_read_model(
    uncached_catalog: CatalogService, db: Database
) -> None:
    catalog = uncached_catalog
    category = await a_category(catalog)
    stocked, [sku] = await a_product(catalog, category_id=category)
    empty, _ = await a_product(catalog, category_id=category)

    async def record(available: int, version: int) -> bool:
        """Stage a level as the availability consumer does; answers whether it flipped in/out of stock."""
        flips: list[bool] = []

        async def flipped() -> None:
            flips.append(True)

        async with catalog.uow() as uow:
            uow.stage_level(sku, available, version, flipped)
            await uow.commit()
        return bool(flips)

    assert await record(5, version=10) is True
    assert await record(0, version=9) is False  # stale: an older level never overwrites a newer one
    assert await record(3, version=11) is False  # still in stock: no flip, no cache invalidation needed

    async def ids(in_stock: bool) -> set[uuid.UUID]:
        page = await catalog.queries.list_products(
            ListingRequest(first=100, filter=ProductFilter(category_id=category, in_stock=in_stock))
        )
        return {p.id for p in page.items}

    assert await ids(True) == {stocked}
    assert await ids(False) == {empty}
    assert await record(0, version=12) is True
    assert await ids(True) == set()


async def test_a_page_costs_one_statement_whatever_its_size(
    uncached_catalog: CatalogService, db: Database
) -> None:
    catalog = uncached_catalog
    category = await a_category(catalog)
    for _ in range(25):
        await a_product(catalog, prices=(100, 200, 300), category_id=category)
    for first in (1, 20):
        with db.count_statements() as counter:
            page = await catalog.queries.list_products(
                ListingRequest(first=first, filter=ProductFilter(category_id=category))
            )
        assert len(page.items) == first
        assert [[v.price_amount for v in p.variants] for p in page.items] == [[100, 200, 300]] * first
        assert counter.count == 1


async def test_a_page_carries_the_categories_of_its_products_each_once(
    uncached_catalog: CatalogService, db: Database
) -> None:
    # Given a subtree whose products sort into two categories on the first page, and a third
    # category only on the row after it (the one read to know there is a next page)
    catalog = uncached_catalog
    root = await a_category(catalog, name="Root")
    child = await a_category(catalog, parent=root, name="Child")
    later = await a_category(catalog, parent=root, name="Later")
    word = ref("n")
    for name, category in (("a", root), ("b", child), ("c", root), ("d", later)):
        await a_product(catalog, name=f"{name} {word}", category_id=category)

    # When the first page of three is listed
    with db.count_statements() as counter:
        page = await catalog.queries.list_products(
            ListingRequest(first=3, filter=ProductFilter(category_id=root))
        )

    # Then its categories come with it, in the order of the products showing them, in its statement
    assert [p.category_id for p in page.items] == [root, child, root]
    assert page.categories is not None
    assert [(c.id, c.name, c.parent_id) for c in page.categories] == [
        (root, "Root", None),
        (child, "Child", root),
    ]
    assert counter.count == 1


async def test_cached_listing_is_served_without_sql_until_invalidated(
    db: Database, redis: Redis, namespace: str
) -> None:
    # A cache namespace of its own: running consumers of other tests bump the shared generation.
    catalog = CatalogService(db, Cache(redis, f"{namespace}:isolated"), namespace)
    category = await a_category(catalog)
    await a_product(catalog, category_id=category)
    request = ListingRequest(first=5, filter=ProductFilter(category_id=category))
    first = await catalog.queries.list_products(request)
    with db.count_statements() as counter:
        again = await catalog.queries.list_products(request)
    assert counter.count == 0
    assert again == first
    await a_product(catalog, category_id=category)
    await catalog.queries.invalidate()
    assert len((await catalog.queries.list_products(request)).items) == 2
