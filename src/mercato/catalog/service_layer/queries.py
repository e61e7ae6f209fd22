"""Catalog reads: plain SELECTs on the read tables, cached in Redis (cache-aside).

Every cached entry lives under the generation counter `catalog:gen`; the catalog's event consumer
bumps it when a product changes or a SKU flips between in and out of stock, which drops every
listing and detail at once without scanning keys. Units available per SKU (`catalog.sku_availability`,
the read model fed by inventory's level events) are never cached: they change with every order, so a
page asks for them with its products and gets them from the statement that loads its variants, or
from one lookup of the page's SKUs when the page came from the cache.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from itertools import starmap
from typing import Any

from sqlalchemy import Text, cast, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import ColumnElement
from sqlalchemy.util import LRUCache

from mercato.catalog.adapters.tables import categories, products, sku_availability, variants
from mercato.catalog.service_layer import views
from mercato.catalog.service_layer.listing import Cursor, ListingRequest
from mercato.catalog.service_layer.listing_sql import ListingShape, listing_parameters, listing_statement
from mercato.catalog.service_layer.views import (
    CategoryView,
    ProductPage,
    ProductView,
    SkuPrice,
    VariantView,
)
from mercato.platform.cache import Cache
from mercato.platform.db import Database
from mercato.platform.sql import CompiledSql, Sql, fetch_core

GENERATION_KEY = "catalog:gen"

# A ProductView's columns, in the order of its fields before `variants` (rows are read by position);
# jsonb read as its text, parsed by the view's constructor (`views.by_position`, `json=`).
_PRODUCT_COLUMNS = (
    products.c.id,
    products.c.slug,
    products.c.name,
    products.c.description,
    products.c.category_id,
    cast(products.c.attributes, Text),
    cast(products.c.media, Text),
    products.c.published,
    products.c.min_price_amount,
    products.c.currency,
    products.c.created_at,
    products.c.updated_at,
)
# A VariantView's columns, in the order of its fields (rows are read by position; jsonb as text).
_VARIANT_COLUMNS = (
    variants.c.id,
    variants.c.product_id,
    variants.c.sku,
    cast(variants.c.attributes, Text),
    variants.c.price_amount,
    variants.c.currency,
)


def _product_variants(available: bool) -> ColumnElement[Any]:
    """A product's variants, a column of the products' statement: an array of rows, each a
    VariantView's fields in order (`_VARIANT_COLUMNS`), by position, with the SKU's units available
    after them when `available` (the availability read model; no row: 0). The page's variants came
    from a statement of their own, one more round trip and ~300 rows to group by product in Python."""
    fields: list[ColumnElement[Any]] = list(_VARIANT_COLUMNS)
    source: Any = variants
    if available:
        fields.append(func.coalesce(sku_availability.c.available, literal_column("0")))
        source = variants.outerjoin(sku_availability, sku_availability.c.sku == variants.c.sku)
    rows = (
        select(func.row(*fields))
        .select_from(source)
        .where(variants.c.product_id == products.c.id)
        .order_by(variants.c.position)
    )
    # ARRAY(SELECT ...): an empty array for a product without variants (array_agg gives NULL).
    return func.array(rows.scalar_subquery())


_VARIANTS = _product_variants(available=False)
_VARIANTS_AVAILABLE = _product_variants(available=True)
# The listing's statement of each shape in use (`listing_sql.ListingShape`), built and compiled once:
# a request only gives its values. Bounded as SQLAlchemy's own compiled cache is (oldest out first):
# the shapes a storefront uses are a few dozen, the possible ones many more.
_LISTINGS: Any = LRUCache(500)  # by (shape, availability)
# Every category, a CategoryView's columns in the order of its fields (rows are read by position).
_CATEGORIES = select(
    categories.c.id,
    categories.c.slug,
    categories.c.name,
    categories.c.parent_id,
    categories.c.position,
).order_by(categories.c.position, categories.c.name, categories.c.id)
# The category of a listing's product, a column of the products' statement (a row by the category's
# key, or NULL): CategoryView's fields in order. The storefront shows it on every card, and the
# category list read by a statement of its own, on a connection of its own, for every page cost more.
_PRODUCT_CATEGORY = (
    select(
        func.row(
            categories.c.id,
            categories.c.slug,
            categories.c.name,
            categories.c.parent_id,
            categories.c.position,
        )
    )
    .where(categories.c.id == products.c.category_id)
    .scalar_subquery()
)
_variant_of = views.by_position(VariantView, json=("attributes",))
# The same for a row with the SKU's units available after the variant's columns.
_variant_and_level_of = views.by_position(VariantView, trailing=1, json=("attributes",))
_product_of = views.by_position(ProductView, json=("attributes", "media"))
# Every checkout prices its cart with it: straight to asyncpg, a statement on its own (`platform.sql`).
_SKU_PRICES = Sql(
    "SELECT v.sku, v.id, v.product_id, v.price_amount, v.currency, p.name, p.published "
    "FROM catalog.variants v JOIN catalog.products p ON p.id = v.product_id "
    "WHERE v.sku = ANY(CAST(:skus AS text[]))"
)


class CatalogQueries:
    def __init__(self, db: Database, cache: Cache) -> None:
        self.db = db
        self.cache = cache
        self.generation_key = cache.key(GENERATION_KEY)

    async def invalidate(self) -> None:
        await self.cache.bump(self.generation_key)

    async def list_products(self, request: ListingRequest, *, availability: bool = False) -> ProductPage:
        """A page of published products; with `availability`, also the units available of each of its
        variants' SKUs (`ProductPage.available`) in the same round trip to PostgreSQL: read by the
        statement that loads the variants, or, when the page comes from the cache, by one lookup."""
        cursor = request.validate()
        loaded: dict[str, int] | None = None

        async def load() -> ProductPage:
            nonlocal loaded
            page, loaded = await self._list_products(request, cursor, availability)
            return page

        page = await self.cache.get_or_load_versioned(
            self.generation_key,
            self.cache.key("list", request.cache_key()),
            load,
            views.encode,
            views.decode_page,
        )
        if not availability:
            return page
        if loaded is None:  # the page came from the cache (or from another request's load of it)
            loaded = await self.availability([v.sku for p in page.items for v in p.variants])
        return dataclasses.replace(page, available=loaded)

    async def availability(self, skus: Sequence[str]) -> dict[str, int]:
        """Units available of each of `skus` as the read model has them (0 for a SKU without a row):
        eventually consistent with the inventory, which stays the authority at checkout."""
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        query = select(sku_availability.c.sku, sku_availability.c.available).where(
            sku_availability.c.sku == func.any(literal(wanted, ARRAY(Text)))
        )
        async with self.db.read() as conn:
            found = {r.sku: int(r.available) for r in (await conn.execute(query)).all()}
        return {sku: found.get(sku, 0) for sku in wanted}

    async def product(
        self, *, product_id: uuid.UUID | None = None, slug: str | None = None
    ) -> ProductView | None:
        """A published product by id or slug (None when unknown or unpublished)."""
        if product_id is not None:
            key, condition = f"id:{product_id}", products.c.id == product_id
        elif slug is not None and len(slug) <= 200:
            key, condition = f"slug:{slug}", products.c.slug == slug
        else:
            return None

        async def load() -> ProductView | None:
            found = await self._load_products(condition & products.c.published)
            return found[0] if found else None

        return await self.cache.get_or_load_versioned(
            self.generation_key, self.cache.key("product", key), load, views.encode, views.decode_product
        )

    async def products_by_ids(
        self, ids: Sequence[uuid.UUID], *, include_unpublished: bool = False
    ) -> list[ProductView]:
        """Uncached lookup for staff screens and other contexts; order of `ids` is not kept."""
        condition: ColumnElement[bool] = products.c.id.in_(list(ids))
        if not include_unpublished:
            condition = condition & products.c.published
        return await self._load_products(condition)

    async def categories(self) -> list[CategoryView]:
        async def load() -> list[CategoryView]:
            async with self.db.connect() as conn:
                rows = await fetch_core(conn, _CATEGORIES, alone=True)
            return menu_order([CategoryView(*r) for r in rows])

        return await self.cache.get_or_load_versioned(
            self.generation_key, self.cache.key("categories"), load, views.encode, views.decode_categories
        )

    async def variant(self, variant_id: uuid.UUID) -> VariantView | None:
        async with self.db.read() as conn:
            row = (await conn.execute(select(variants).where(variants.c.id == variant_id))).first()
        return _variant_view(row) if row is not None else None

    async def variants_by_skus(self, skus: Sequence[str]) -> dict[str, VariantView]:
        async with self.db.read() as conn:
            rows = (await conn.execute(select(variants).where(variants.c.sku.in_(list(skus))))).all()
        return {r.sku: _variant_view(r) for r in rows}

    async def sku_prices(self, skus: Sequence[str]) -> dict[str, SkuPrice]:
        """Price and product name of each existing SKU in one statement (the cart prices with it)."""
        rows = await _SKU_PRICES.read(self.db, {"skus": list(skus)})
        return {
            sku: SkuPrice(
                sku=sku,
                variant_id=variant_id,
                product_id=product_id,
                price_amount=price_amount,
                currency=currency,
                product_name=name if published else None,
            )
            for sku, variant_id, product_id, price_amount, currency, name, published in rows
        }

    async def _list_products(
        self, request: ListingRequest, cursor: Cursor | None, availability: bool
    ) -> tuple[ProductPage, dict[str, int] | None]:
        key = (ListingShape.of(request, cursor), availability)
        listing: CompiledSql | None = _LISTINGS.get(key)
        if listing is None:
            columns = (
                *_PRODUCT_COLUMNS,
                _VARIANTS_AVAILABLE if availability else _VARIANTS,
                _PRODUCT_CATEGORY,
            )
            listing = _LISTINGS[key] = CompiledSql(listing_statement(key[0], columns))
        levels: dict[str, int] | None = {} if availability else None
        known: dict[uuid.UUID, CategoryView] = {}
        found = await self._load_products(
            listing=(listing, listing_parameters(request, cursor)), levels=levels, categories=known
        )
        if levels is not None and len(found) > request.first:
            # The row fetched to know there is a next page is not on this page.
            for v in found[-1].variants:
                levels.pop(v.sku, None)
        items = tuple(found[: request.first])
        shown = dict.fromkeys(p.category_id for p in items if p.category_id in known)
        page = ProductPage(
            items=items,
            has_next_page=len(found) > request.first,
            categories=tuple(known[c] for c in shown if c is not None),
        )
        return page, levels

    async def _load_products(
        self,
        condition: ColumnElement[bool] | None = None,
        *,
        listing: tuple[CompiledSql, dict[str, Any]] | None = None,
        levels: dict[str, int] | None = None,
        categories: dict[uuid.UUID, CategoryView] | None = None,
    ) -> list[ProductView]:
        """Products (by `condition`, or a `listing` statement with its values, which also reads each
        product's category: `_PRODUCT_CATEGORY`) with their variants, in one statement whatever the
        number of products. Given `levels`, each SKU's units available are read into it with the
        variants (a left join on the read model: no extra statement); given `categories`, the
        products' categories are read into it."""
        # Straight to asyncpg (`platform.sql`), alone (outside any transaction, as `Database.read`
        # reads): SQLAlchemy's execution and Row objects were ~14% of an uncached listing.
        async with self.db.connect() as conn:
            if listing is not None:
                rows = await listing[0].fetch(conn, listing[1], alone=True)
            else:
                assert condition is not None
                with_variants = _VARIANTS_AVAILABLE if levels is not None else _VARIANTS
                query = select(*_PRODUCT_COLUMNS, with_variants).where(condition)
                rows = await fetch_core(conn, query, alone=True)
        # Rows are read by position, in the order of the views' fields: by attribute, a page's ~300
        # variant rows took ~8 µs each (SQLAlchemy's `Row.__getattr__`), a fifth of an uncached listing.
        # A product's variants are an array of rows after its columns (`_product_variants`), each
        # row's values passed as they are (no Python loop of ours per variant).
        width = len(_PRODUCT_COLUMNS)
        make = _variant_of if levels is None else _variant_and_level_of
        if levels is not None:
            levels.update({v[2]: v[6] for r in rows for v in r[width]})
        if categories is not None and listing is not None:
            for r in rows:
                if r[width + 1] is not None:
                    categories[r[width + 1][0]] = CategoryView(*r[width + 1])
        # `_PRODUCT_COLUMNS` are ProductView's fields in order, `variants` last.
        return [_product_of(*r[:width], tuple(starmap(make, r[width]))) for r in rows]


def _variant_view(v: Any) -> VariantView:
    return VariantView(
        id=v.id,
        product_id=v.product_id,
        sku=v.sku,
        attributes=v.attributes,
        price_amount=v.price_amount,
        currency=v.currency,
    )


def menu_order(siblings_sorted: Sequence[CategoryView]) -> list[CategoryView]:
    """Depth first from the roots: each category, then its subtree; siblings keep the given order.

    Positions are per level, so a flat sort by position lists a child placed first among its siblings
    before a parent placed late among the roots; clients build menus in one pass and need parents first.
    """
    known = {c.id for c in siblings_sorted}
    children: dict[uuid.UUID | None, list[CategoryView]] = {}
    for category in siblings_sorted:
        parent = category.parent_id if category.parent_id in known else None
        children.setdefault(parent, []).append(category)
    ordered: list[CategoryView] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        category = stack.pop()
        ordered.append(category)
        stack.extend(reversed(children.get(category.id, [])))
    return ordered
