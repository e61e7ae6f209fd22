"""Every shape of the listing's statement returns what the plain definition of a listing returns.

The read side answers a listing with one of several statements (catalog/service_layer/listing_sql.py):
a walk of the sort's index, two ranges of the price index merged, or a bounded window of the walk
with the matches found first when the window falls short. The definition is one statement,
`WHERE <every condition> ORDER BY sort, id`, with a price band as "some variant priced in it" (an
EXISTS on the variants), as the listing was written before. In a database of this module's own with
a catalog made to hit every shape (words found only among dear or cheap products, products whose
variants straddle a band's ends or span a whole band with no variant inside, unpublished ones), each
request is walked page by page through its cursors and must list exactly the definition's products in
its order, once with the window as configured and once with a window of one page (every filtered
listing that fills no page from it takes the matches' path).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text

from mercato.app.bulk.records import ImportRecords
from mercato.app.demo_data import CategorySpec, ProductSpec, VariantSpec, WarehouseSpec
from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.service_layer import listing_sql
from mercato.catalog.service_layer.listing import ListingRequest, ProductFilter, ProductSort
from mercato.platform.engines import EngineUrls
from mercato.platform.types import Money
from tests.service.catalog.builders import all_pages, imported_catalog

PRODUCTS = 150
# (word, dollars): each kind's name word and price range; jackets are dear and tees cheap, so a search
# for one of them sorted by price finds nothing along the first stretch of the price index.
_KINDS = (("Jacket", (90, 250)), ("Tee", (5, 20)), ("Pack", (20, 150)), ("Mat", (15, 60)))
_MATERIALS = ("Wool", "Cotton", "Nylon")


def _catalog() -> ImportRecords:
    rng = random.Random(5)
    records = ImportRecords("shapes", [WarehouseSpec("main", "Main")])
    roots = [CategorySpec(f"shape-root-{r}", f"Root {r}", None, r) for r in range(2)]
    leaves = [
        CategorySpec(f"shape-leaf-{r}-{n}", f"Leaf {n}", f"shape-root-{r}", n)
        for r in range(2)
        for n in range(3)
    ]
    records.categories = roots + leaves
    # Published without variants: no variant of it is in any band.
    records.add_product(
        ProductSpec("shape-bare", "Alder Bare", "Nothing to buy yet.", leaves[0].slug, {}, (), True, ()),
        "bare",
    )
    for i in range(PRODUCTS):
        word, (low, high) = _KINDS[i % len(_KINDS)]
        price = rng.randint(low, high) * 100 - 1
        # One product in nine spans a wide range with nothing in between (a band inside the gap holds
        # none of its variants); the others have one to three variants close together.
        wide = i % 9 == 0
        prices = [price, price + 6_000] if wide else [price + 150 * n for n in range(rng.randint(1, 3))]
        name = f"{rng.choice(('Alder', 'Birch', 'Cedar', 'Dune'))} {word} {i}"
        records.add_product(
            ProductSpec(
                slug=f"shape-{i}",
                name=name,
                description=f"A {word.lower()} for the shapes test.",
                category_slug=rng.choice(leaves).slug,
                attributes={"material": [rng.choice(_MATERIALS)]},
                media=(),
                published=i % 11 != 0,
                variants=tuple(
                    VariantSpec(
                        f"SHAPE-{i}-{n}", Money(amount, "USD"), {"size": "M"}, (("main", rng.choice((0, 4))),)
                    )
                    for n, amount in enumerate(prices)
                ),
            ),
            f"product {i}",
        )
    return records


@pytest.fixture(scope="module")
async def shapes_catalog(
    engine_urls: EngineUrls, redis: Any, namespace: str
) -> AsyncIterator[CatalogService]:
    async with imported_catalog(engine_urls, redis, namespace, "shapes", _catalog()) as (catalog, summary):
        assert summary.rejected == () and summary.products_created == PRODUCTS + 1
        yield catalog


# The definition of a listing: every condition in one WHERE, a price band as an EXISTS on the variants.
_DEFINITION = """
SELECT p.id FROM catalog.products p WHERE p.published
  AND (CAST(:category AS uuid) IS NULL OR p.category_id IN (SELECT c.id FROM catalog.categories c
       WHERE starts_with(c.path, (SELECT r.path FROM catalog.categories r WHERE r.id = :category))))
  AND (CAST(:search AS text) IS NULL OR p.search @@ websearch_to_tsquery('simple', :search))
  AND (CAST(:low AS bigint) IS NULL AND CAST(:high AS bigint) IS NULL OR EXISTS (
       SELECT 1 FROM catalog.variants v WHERE v.product_id = p.id
       AND v.price_amount >= coalesce(:low, 0) AND v.price_amount <= coalesce(:high, 9223372036854775807)))
  AND (CAST(:in_stock AS boolean) IS NULL OR :in_stock = EXISTS (
       SELECT 1 FROM catalog.variants v JOIN catalog.sku_availability a ON a.sku = v.sku
       WHERE v.product_id = p.id AND a.available > 0))
  AND (CAST(:material AS text) IS NULL OR p.attributes -> 'material' ? :material)
ORDER BY {order}
"""
_ORDER = {
    ProductSort.NAME: "p.name {d}, p.id {d}",
    ProductSort.PRICE: "p.min_price_amount {d}, p.id {d}",
    ProductSort.CREATED_AT: "p.created_at {d}, p.id {d}",
}


async def _defined(catalog: CatalogService, request: ListingRequest) -> list[uuid.UUID]:
    f = request.filter
    order = _ORDER[request.sort].format(d="DESC" if request.descending else "ASC")
    material = f.attributes[0][1][0] if f.attributes else None
    async with catalog.db.connect() as conn:
        rows = await conn.execute(
            text(_DEFINITION.format(order=order)),
            {
                "category": f.category_id,
                "search": f.search,
                "low": f.price_min,
                "high": f.price_max,
                "in_stock": f.in_stock,
                "material": material,
            },
        )
        return [r.id for r in rows]


async def _listed(catalog: CatalogService, request: ListingRequest) -> list[uuid.UUID]:
    return [p.id for p in await all_pages(catalog, request)]


_BANDS = ((None, 3_000), (2_500, None), (2_500, 6_000), (0, 6_000), (5_000, 5_200), (100_000, None))


def _filters(root: uuid.UUID, leaf: uuid.UUID) -> list[ProductFilter]:
    return [
        ProductFilter(),
        ProductFilter(search="jacket"),
        ProductFilter(search="tee"),
        ProductFilter(category_id=root),
        *(ProductFilter(price_min=low, price_max=high) for low, high in _BANDS),
        ProductFilter(search="jacket", price_min=2_500, price_max=12_000),
        ProductFilter(category_id=leaf, price_min=2_500, price_max=6_000),
        ProductFilter(in_stock=True),
        ProductFilter(attributes=(("material", ("Wool",)),)),
    ]


@pytest.mark.parametrize("window", ["configured", "one-page"])
async def test_every_listing_shape_lists_what_the_definition_lists(
    shapes_catalog: CatalogService, monkeypatch: pytest.MonkeyPatch, window: str
) -> None:
    # Given a catalog made to hit every shape of the statement, and the window as configured or as
    # small as a page
    if window == "one-page":
        monkeypatch.setattr(listing_sql, "WINDOW_MIN", 1)
        monkeypatch.setattr(listing_sql, "WINDOW_PER_ROW", 1)
    categories = {c.slug: c.id for c in await shapes_catalog.queries.categories()}
    filters = _filters(categories["shape-root-1"], categories["shape-leaf-0-2"])
    differing, empty = [], set()
    for f in filters:
        for sort in ProductSort:
            for descending in (False, True):
                for first in (7, 40):
                    request = ListingRequest(first=first, filter=f, sort=sort, descending=descending)

                    # When it is walked page by page
                    listed = await _listed(shapes_catalog, request)

                    # Then it lists exactly the definition's products, in its order
                    if listed != await _defined(shapes_catalog, request):
                        differing.append(request)
                    if not listed:
                        empty.add(f)
    assert differing == []
    assert empty == {ProductFilter(price_min=100_000)}  # every other request lists products
