"""The storefront's listing queries stay index-driven on a large catalog (issue 9: flat as it grows).

A database of this module's own gets a catalog of `PRODUCTS` products (`VARIANTS` variants each)
through the bulk importer, then ANALYZE. Jackets are dear and tees cheap, so a search for one of them
sorted by price finds no match along the first stretch of the price index, as in a real shop. (A
common word bunched at one end, a sixth of the catalog, still costs a scan of the products once the
window is spent: the planner prefers it to the search's index for that many matches. Not tested here.) Every
statement the catalog's read side sends for a set of listing requests (each sort order both ways, a
second page, category subtree, price bands under each sort, searches under each sort, in stock,
attribute filters) and for product pages is captured as sent, and run under EXPLAIN ANALYZE with its
parameters. Of the plan nodes that ran (a branch PostgreSQL never started does not count): none may
scan `products` or `variants` sequentially, and no statement may read more than a fifth of the
catalog's products (an index walk that tests every cheaper product against a search or a band does;
finding the matches first does not). The queries are not copied here, so the test follows the read
side as it changes.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, text

from mercato.app.bulk.records import ImportRecords
from mercato.app.demo_data import CategorySpec, ProductSpec, VariantSpec, WarehouseSpec
from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.service_layer import listing_sql
from mercato.catalog.service_layer.listing import Cursor, ListingRequest, ProductFilter, ProductSort
from mercato.catalog.service_layer.views import ProductPage
from mercato.platform.engines import EngineUrls
from mercato.platform.types import Money
from tests.service.catalog.builders import imported_catalog

PRODUCTS = 20_000
VARIANTS = 3
WATCHED = {"products", "variants"}
# Rows of `products` one statement may read: a page's walk, a window of it, or a search's matches;
# never most of the catalog.
READ_MAX = PRODUCTS // 5
_WORDS = [
    "aurora",
    "basalt",
    "cascade",
    "drift",
    "ember",
    "fjord",
    "glacier",
    "halcyon",
    "ionic",
    "juniper",
    "kestrel",
    "lumen",
    "meridian",
    "nimbus",
    "orion",
    "pinnacle",
    "quarry",
    "redwood",
    "solstice",
    "tamarack",
    "umber",
    "vista",
    "willow",
    "yarrow",
    "zephyr",
]
_JACKETS = "jackets"
_NOUNS = ("Jacket", "Hoodie", "Tee", "Pant", "Short", "Pack", "Bottle", "Cap", "Sock", "Mat")
_MATERIALS = ("Cotton", "Wool", "Nylon", "Polyester", "Hemp", "Linen")


def _catalog() -> ImportRecords:
    rng = random.Random(9)
    records = ImportRecords("generated", [WarehouseSpec("main", "Main")])
    roots = [CategorySpec(f"dept-{d}", f"Department {d}", None, d) for d in range(4)]
    leaves = [CategorySpec(f"leaf-{d}-{n}", f"Leaf {n}", f"dept-{d}", n) for d in range(4) for n in range(6)]
    # Every jacket in a category of its own: a category at the dear end of the price range.
    records.categories = [*roots, *leaves, CategorySpec(_JACKETS, "Jackets", "dept-0", 6)]
    for i in range(PRODUCTS):
        # Jackets and tees are rare (3% each, as rain jackets and tees in the demo catalog) and at
        # opposite ends of the price index.
        noun = rng.choices(_NOUNS, weights=[3 if n in ("Jacket", "Tee") else 12 for n in _NOUNS])[0]
        name = f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS).title()} {noun} {i}"
        dollars = {"Jacket": (250, 400), "Tee": (5, 40)}.get(noun, (5, 400))
        price = rng.randint(*dollars) * 100 - 1
        leaf = rng.choice(leaves).slug
        product = ProductSpec(
            slug=f"plan-{i}",
            name=name,
            description=f"A {name.lower()} made of {rng.choice(_MATERIALS).lower()}.",
            category_slug=_JACKETS if noun == "Jacket" else leaf,
            attributes={"material": [rng.choice(_MATERIALS)]},
            media=(),
            published=rng.random() < 0.9,
            variants=tuple(
                VariantSpec(
                    f"PLAN-{i}-{n}",
                    Money(price + 100 * n, "USD"),
                    {"size": size},
                    (("main", rng.choice((0, 0, 3, 12))),),
                )
                for n, size in enumerate(("S", "M", "L")[:VARIANTS])
            ),
        )
        records.add_product(product, f"product {i}")
    return records


@pytest.fixture(autouse=True)
def _window_to_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    """A search's window as large a part of this catalog as it is of 100k products (5,000)."""
    monkeypatch.setattr(listing_sql, "WINDOW_MIN", listing_sql.WINDOW_MIN * PRODUCTS // 100_000)


@dataclass
class Captured:
    statement: str
    parameters: Any


@pytest.fixture(scope="module")
async def large_catalog(engine_urls: EngineUrls, redis: Any, namespace: str) -> AsyncIterator[CatalogService]:
    async with imported_catalog(engine_urls, redis, namespace, "plans", _catalog()) as (catalog, summary):
        assert summary.rejected == () and summary.products_created == PRODUCTS
        async with catalog.db.connect() as conn:  # the planner's statistics, as autovacuum would leave them
            await conn.execute(text("ANALYZE"))
            await conn.commit()
        yield catalog


async def _captured(catalog: CatalogService, action: Any) -> list[Captured]:
    found: list[Captured] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        found.append(Captured(statement, parameters))

    engine = catalog.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        await action()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return found


@dataclass(frozen=True)
class Scan:
    node: str
    relation: str
    rows: float  # rows the node read: returned plus removed by its filter or recheck, over all loops


def _scans(plan: dict[str, Any]) -> list[Scan]:
    """Every node of a JSON plan (EXPLAIN ANALYZE) that read a relation; nodes that never ran are not."""
    found = []
    loops = plan.get("Actual Loops", 0)
    if "Relation Name" in plan and loops > 0:
        per_loop = (
            plan.get("Actual Rows", 0)
            + plan.get("Rows Removed by Filter", 0)
            + plan.get("Rows Removed by Index Recheck", 0)
        )
        found.append(Scan(plan["Node Type"], plan["Relation Name"], per_loop * loops))
    for child in plan.get("Plans", ()):
        found += _scans(child)
    return found


Plan = tuple[str, list[Scan]]


async def _plans(catalog: CatalogService, statements: list[Captured]) -> list[Plan]:
    async with catalog.db.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        plans = []
        for captured in statements:
            params = tuple(captured.parameters or ())
            explained = await raw.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + captured.statement, *params)
            plan = (explained if isinstance(explained, list) else json.loads(explained))[0]["Plan"]
            plans.append((captured.statement, _scans(plan)))
        return plans


# Each storefront listing, built from a category and a cursor after the first page.
_LISTINGS: dict[str, Callable[[uuid.UUID, str], ListingRequest]] = {
    **{
        f"sort-{sort.value.lower()}{'-desc' if descending else ''}": (
            lambda _leaf, _cursor, sort=sort, descending=descending: ListingRequest(
                first=24, sort=sort, descending=descending
            )
        )
        for sort in ProductSort
        for descending in (False, True)
    },
    "second-page": lambda _leaf, cursor: ListingRequest(first=24, after=cursor),
    "category-subtree": lambda leaf, _cursor: ListingRequest(
        first=24, filter=ProductFilter(category_id=leaf)
    ),
    "price-range": lambda _leaf, _cursor: ListingRequest(
        first=24, sort=ProductSort.PRICE, filter=ProductFilter(price_min=2_000, price_max=3_000)
    ),
    "search": lambda _leaf, _cursor: ListingRequest(first=24, filter=ProductFilter(search="glacier jacket")),
    # Jackets are dear: along the price index from the cheapest, the first jacket is far off.
    "search-dear-word-by-price": lambda _leaf, _cursor: ListingRequest(
        first=24, sort=ProductSort.PRICE, filter=ProductFilter(search="jacket")
    ),
    "search-cheap-word-by-price-desc": lambda _leaf, _cursor: ListingRequest(
        first=24, sort=ProductSort.PRICE, descending=True, filter=ProductFilter(search="tee")
    ),
    "search-by-newest": lambda _leaf, _cursor: ListingRequest(
        first=24, sort=ProductSort.CREATED_AT, descending=True, filter=ProductFilter(search="jacket")
    ),
    "search-in-price-band": lambda _leaf, _cursor: ListingRequest(
        first=24,
        sort=ProductSort.PRICE,
        filter=ProductFilter(search="jacket", price_min=30_000, price_max=35_000),
    ),
    # A band well above most prices: sorted by price ascending, every cheaper product came first.
    "price-band-ascending": lambda _leaf, _cursor: ListingRequest(
        first=24, sort=ProductSort.PRICE, filter=ProductFilter(price_min=30_000, price_max=35_000)
    ),
    "price-min-ascending": lambda _leaf, _cursor: ListingRequest(
        first=24, sort=ProductSort.PRICE, filter=ProductFilter(price_min=30_000)
    ),
    "price-band-descending": lambda _leaf, _cursor: ListingRequest(
        first=24,
        sort=ProductSort.PRICE,
        descending=True,
        filter=ProductFilter(price_min=2_000, price_max=3_000),
    ),
    "price-band-by-name": lambda _leaf, _cursor: ListingRequest(
        first=24, filter=ProductFilter(price_min=30_000, price_max=35_000)
    ),
    "category-by-price": lambda leaf, _cursor: ListingRequest(
        first=24, sort=ProductSort.PRICE, descending=True, filter=ProductFilter(category_id=leaf)
    ),
    "in-stock": lambda _leaf, _cursor: ListingRequest(first=24, filter=ProductFilter(in_stock=True)),
    "product-attribute": lambda _leaf, _cursor: ListingRequest(
        first=24, filter=ProductFilter(attributes=(("material", ("Wool",)),))
    ),
    "variant-attribute": lambda _leaf, _cursor: ListingRequest(
        first=24, filter=ProductFilter(attributes=(("size", ("M",)),))
    ),
}
# An attribute filter is `products.attributes ?| values OR EXISTS (a variant of this product whose
# attributes->>name is among the values)`. Inside the OR, PostgreSQL hashed that EXISTS over every
# matching variant (a sequential scan of `variants`); a GIN index with `@>` containment was tried and
# still passed over for a sequential scan for a common value (size M: a third of the variants). The
# EXISTS now also names the outer row (catalog/service_layer/listing_sql.py), so each product the page
# walks is checked through `variants_product_idx`.
_CASES = list(_LISTINGS)


@pytest.fixture(scope="module")
async def page_context(large_catalog: CatalogService) -> tuple[uuid.UUID, str, ProductPage]:
    categories = await large_catalog.queries.categories()
    leaf = next(c.id for c in categories if c.slug == "leaf-1-2")
    first = await large_catalog.queries.list_products(ListingRequest(first=24))
    return leaf, Cursor.after_product(first.items[-1], ProductSort.NAME, False).encode(), first


def _sequential(plans: list[Plan], watched: set[str] = WATCHED) -> list[Plan]:
    return [
        (sql, scans)
        for sql, scans in plans
        if any(s.node == "Seq Scan" and s.relation in watched for s in scans)
    ]


def _products_read(plans: list[Plan]) -> list[float]:
    return [sum(s.rows for s in scans if s.relation == "products") for _sql, scans in plans]


def _shown(plans: list[Plan]) -> str:
    return "\n\n".join(f"{sql}\n  {scans}" for sql, scans in plans)


@pytest.mark.parametrize("listing", _CASES)
async def test_a_listing_uses_indexes_on_a_large_catalog(
    large_catalog: CatalogService, page_context: tuple[uuid.UUID, str, ProductPage], listing: str
) -> None:
    # Given a large catalog and one storefront listing request
    leaf, cursor, _first = page_context
    request = _LISTINGS[listing](leaf, cursor)

    # When the read side answers it (uncached)
    async def answer() -> None:
        page = await large_catalog.queries.list_products(request)
        assert len(page.items) == 24  # a full page: the plans are of real work

    plans = await _plans(large_catalog, await _captured(large_catalog, answer))

    # Then it reads products (and their variants) through indexes, never by a sequential scan, and
    # reads a bounded part of the catalog's products, not most of them
    assert any(s.relation == "products" for _sql, scans in plans for s in scans)
    assert _sequential(plans) == [], _shown(_sequential(plans))
    assert max(_products_read(plans)) <= READ_MAX, _shown(plans)


async def test_a_listing_with_availability_reads_the_read_model_through_its_key(
    large_catalog: CatalogService, page_context: tuple[uuid.UUID, str, ProductPage]
) -> None:
    # Given a large catalog with its availability read model, and a category page
    leaf, _cursor, _first = page_context
    request = ListingRequest(first=24, filter=ProductFilter(category_id=leaf))

    # When the read side answers it with the page's availability (uncached: the variants' statement
    # joins the read model)
    async def answer() -> None:
        page = await large_catalog.queries.list_products(request, availability=True)
        assert page.items and page.available

    plans = await _plans(large_catalog, await _captured(large_catalog, answer))

    # Then products, variants and the read model are read through indexes
    watched = {*WATCHED, "sku_availability"}
    assert {s.relation for _sql, scans in plans for s in scans} >= watched
    assert _sequential(plans, watched) == [], _shown(_sequential(plans, watched))
    assert max(_products_read(plans)) <= READ_MAX, _shown(plans)


async def test_product_pages_use_indexes_on_a_large_catalog(
    large_catalog: CatalogService, page_context: tuple[uuid.UUID, str, ProductPage]
) -> None:
    # Given a large catalog and two of its products
    _leaf, _cursor, first = page_context

    # When the read side loads one product page by slug and one by id
    async def pages() -> None:
        assert await large_catalog.queries.product(slug=first.items[1].slug) is not None
        assert await large_catalog.queries.product(product_id=first.items[0].id) is not None

    plans = await _plans(large_catalog, await _captured(large_catalog, pages))

    # Then both read products and variants through indexes, one product each
    assert {s.relation for _sql, scans in plans for s in scans} >= WATCHED
    assert _sequential(plans) == []
    assert [n for n in _products_read(plans) if n] == [1, 1]


async def test_a_category_at_one_end_of_the_price_range_is_read_from_a_window_then_its_own_products(
    large_catalog: CatalogService,
) -> None:
    # Given a category of dear products only (3% of the catalog), its first page by price ascending
    categories = await large_catalog.queries.categories()
    jackets = next(c.id for c in categories if c.slug == _JACKETS)
    request = ListingRequest(first=24, sort=ProductSort.PRICE, filter=ProductFilter(category_id=jackets))

    # When the read side answers it (uncached)
    async def answer() -> None:
        page = await large_catalog.queries.list_products(request)
        assert len(page.items) == 24

    plans = await _plans(large_catalog, await _captured(large_catalog, answer))

    # Then no product is read sequentially, and no more are read than the category's window along the
    # price index (walked, then counted again from the index) and the category's own products (the
    # walk from the cheapest product tested every cheaper product: most of the catalog)
    window = listing_sql.CATEGORY_WINDOW_FACTOR * listing_sql.WINDOW_MIN
    assert _sequential(plans) == [], _shown(_sequential(plans))
    assert max(_products_read(plans)) <= 2 * window + 0.05 * PRODUCTS, _shown(plans)
