"""The storefront listing mix and an in-memory catalog to run it against, for measuring GraphQL execution
in process (`bench/graphql_exec.py`) and for the differential test of the fast executor.

The catalog is the demo plan (`mercato.app.demo_data.generate`, 200 products / ~2,300 variants by
default) turned into the catalog's own read views; the fake clients answer the gateway's calls from
memory, so what a run measures is the gateway's work per request (parsing, validation, execution,
building the response), not SQL or Redis. Pages are memoised per listing request, as the catalog's
page cache does on a warm machine.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from mercato.app import demo_data
from mercato.catalog.service_layer.listing import ListingRequest, ProductSort
from mercato.catalog.service_layer.views import CategoryView, ProductPage, ProductView, VariantView
from mercato.gateway.context import Clients, GatewayContext
from mercato.platform.config import Settings

_NS = uuid.UUID("5b0b6c2e-0000-4000-8000-000000000000")
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class MemoryCatalog:
    """The demo plan as the catalog's read views, with stock levels per SKU."""

    def __init__(self, products: int = 200, seed: int = demo_data.DEFAULT_SEED) -> None:
        plan = demo_data.generate(products, seed=seed)
        ids = {c.slug: uuid.uuid5(_NS, "category:" + c.slug) for c in plan.categories}
        self.categories = [
            CategoryView(
                id=ids[c.slug],
                slug=c.slug,
                name=c.name,
                parent_id=ids[c.parent_slug] if c.parent_slug else None,
                position=c.position,
            )
            for c in plan.categories
        ]
        self.levels: dict[str, int] = {}
        self.products: list[ProductView] = []
        for i, spec in enumerate(plan.products):
            product_id = uuid.uuid5(_NS, "product:" + spec.slug)
            variants = tuple(
                VariantView(
                    id=uuid.uuid5(_NS, "variant:" + v.sku),
                    product_id=product_id,
                    sku=v.sku,
                    attributes=dict(v.attributes),
                    price_amount=v.price.amount,
                    currency=v.price.currency,
                )
                for v in spec.variants
            )
            for v in spec.variants:
                self.levels[v.sku] = sum(units for _, units in v.stock)
            created = _EPOCH + timedelta(minutes=i)
            self.products.append(
                ProductView(
                    id=product_id,
                    slug=spec.slug,
                    name=spec.name,
                    description=spec.description,
                    category_id=ids[spec.category_slug] if spec.category_slug else None,
                    attributes=dict(spec.attributes),
                    media=list(spec.media),
                    published=spec.published,
                    min_price_amount=min(v.price_amount for v in variants),
                    currency=variants[0].currency if variants else None,
                    created_at=created,
                    updated_at=created,
                    variants=variants,
                )
            )
        self._subtrees = {c.id: self._subtree(c.id) for c in self.categories}

    def _subtree(self, root: uuid.UUID) -> set[uuid.UUID]:
        found = {root}
        grew = True
        while grew:
            before = len(found)
            found |= {c.id for c in self.categories if c.parent_id in found}
            grew = len(found) != before
        return found

    def page(self, request: ListingRequest) -> ProductPage:
        cursor = request.validate()
        f = request.filter
        items = [p for p in self.products if p.published]
        if f.category_id is not None:
            subtree = self._subtrees.get(f.category_id, set())
            items = [p for p in items if p.category_id in subtree]
        if f.search:
            words = f.search.lower().split()
            items = [p for p in items if all(w in (p.name + " " + p.description).lower() for w in words)]
        if f.price_min is not None or f.price_max is not None:
            low = f.price_min if f.price_min is not None else 0
            high = f.price_max if f.price_max is not None else 1 << 62
            items = [p for p in items if any(low <= v.price_amount <= high for v in p.variants)]
        if f.in_stock is not None:
            items = [p for p in items if any(self.levels[v.sku] > 0 for v in p.variants) is f.in_stock]

        def key(p: ProductView) -> tuple[Any, str]:
            value: Any = {
                ProductSort.NAME: p.name,
                ProductSort.PRICE: p.min_price_amount,
                ProductSort.CREATED_AT: p.created_at,
            }[request.sort]
            return (value, str(p.id))

        items.sort(key=key, reverse=request.descending)
        if cursor is not None:
            after = (cursor.value, str(cursor.product_id))
            items = [p for p in items if (key(p) < after if request.descending else key(p) > after)]
        return ProductPage(items=tuple(items[: request.first]), has_next_page=len(items) > request.first)


class MemoryCatalogClient:
    """The part of `CatalogClient` the storefront's queries call."""

    def __init__(self, catalog: MemoryCatalog) -> None:
        self.catalog = catalog
        self._pages: dict[str, ProductPage] = {}
        self._by_id = {p.id: p for p in catalog.products}
        self._by_slug = {p.slug: p for p in catalog.products}

    async def list_products(self, request: ListingRequest, *, availability: bool = False) -> ProductPage:
        key = request.cache_key()
        page = self._pages.get(key)
        if page is None:
            page = self._pages[key] = self.catalog.page(request)
        if not availability:
            return page
        # As the catalog answers it: the page (cached) and its SKUs' levels (never cached).
        levels = self.catalog.levels
        available = {v.sku: levels.get(v.sku, 0) for p in page.items for v in p.variants}
        return ProductPage(items=page.items, has_next_page=page.has_next_page, available=available)

    async def product(
        self, *, product_id: uuid.UUID | None = None, slug: str | None = None
    ) -> ProductView | None:
        found = self._by_id.get(product_id) if product_id is not None else self._by_slug.get(slug or "")
        return found if found is not None and found.published else None

    async def categories(self) -> list[CategoryView]:
        return list(self.catalog.categories)

    async def availability(self, skus: Sequence[str]) -> dict[str, int]:
        return {s: self.catalog.levels[s] for s in skus if s in self.catalog.levels}


class MemoryInventoryClient:
    def __init__(self, catalog: MemoryCatalog) -> None:
        self.catalog = catalog

    async def availability(self, skus: list[str]) -> dict[str, int]:
        return {s: self.catalog.levels[s] for s in skus if s in self.catalog.levels}


def memory_clients(catalog: MemoryCatalog) -> Clients:
    none = cast(Any, None)
    return Clients(
        catalog=cast(Any, MemoryCatalogClient(catalog)),
        inventory=cast(Any, MemoryInventoryClient(catalog)),
        cart=none,
        customers=none,
        orders=none,
        payments=none,
    )


def context(settings: Settings, clients: Clients) -> GatewayContext:
    return GatewayContext(settings=settings, clients=clients)


# ---- the listing mix ------------------------------------------------------------------------------

# What a product card shows: name, link, price range, category, each variant's SKU and price.
CARD = (
    "edges { cursor node { id name slug priceRange { start { amount currency } stop { amount currency } } "
    "category { id name slug } variants { id sku price { amount currency } } } } "
    "pageInfo { hasNextPage endCursor }"
)
CARD_WITH_STOCK = CARD.replace(
    "price { amount currency } }", "price { amount currency } quantityAvailable inStock }"
)
_SORTS = ("NAME", "PRICE", "CREATED_AT")
_SEARCHES = ("jacket", "merino", "tee", "pack", "trail", "fleece", "short", "hoodie")


def listing_mix(count: int = 52, *, seed: int = 9, stock: bool = False) -> list[str]:
    """`count` different listing documents: `products(first: 12-36)` over sorts, price ranges and
    searches, as a storefront's category pages, sort orders and filters send them."""
    rng = random.Random(seed)
    selection = CARD_WITH_STOCK if stock else CARD
    queries: list[str] = []
    seen: set[str] = set()
    while len(queries) < count:
        first = rng.choice((12, 16, 20, 24, 28, 32, 36))
        sort = f"sortBy: {{ field: {rng.choice(_SORTS)}, direction: {rng.choice(('ASC', 'DESC'))} }}"
        kind = rng.randrange(3)
        if kind == 0:
            filter_ = ""
        elif kind == 1:
            low = rng.choice((0, 20, 40, 60))
            filter_ = (
                f', filter: {{ priceMin: "{low}.00", priceMax: "{low + rng.choice((40, 80, 150))}.00" }}'
            )
        else:
            filter_ = f', filter: {{ search: "{rng.choice(_SEARCHES)}" }}'
        query = f"{{ products(first: {first}, {sort}{filter_}) {{ {selection} }} }}"
        if query not in seen:
            seen.add(query)
            queries.append(query)
    return queries
