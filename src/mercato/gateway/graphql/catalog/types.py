"""Catalog types of the GraphQL API."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, cast

import strawberry
from graphql import FieldNode, FragmentSpreadNode
from strawberry.scalars import JSON

from mercato.catalog.service_layer.views import CategoryView, ProductView, VariantView
from mercato.gateway.graphql.core.types import Money, PageInfo, money_of
from mercato.gateway.graphql.search.recommendations import Recommendation, recommended_views
from mercato.platform import cdn


@strawberry.type
class Category:
    id: strawberry.ID
    slug: str
    name: str
    position: int
    parent_id: strawberry.ID | None

    @classmethod
    def of(cls, view: CategoryView) -> Category:
        return cls(
            id=strawberry.ID(str(view.id)),
            slug=view.slug,
            name=view.name,
            position=view.position,
            parent_id=strawberry.ID(str(view.parent_id)) if view.parent_id else None,
        )


# `str`, typed as making an ID: `strawberry.ID(str(...))` is two calls, and a page makes ~300 variants.
_id_of: Callable[[uuid.UUID], strawberry.ID] = cast(Any, str)
_new = object.__new__


@strawberry.type
class Variant:
    id: strawberry.ID
    sku: str
    attributes: JSON
    price: Money

    # Plain values, filled for a whole page at once (see `products_of`): a resolver per variant would
    # cost more than the query itself.
    quantity_available: int = strawberry.field(
        description=(
            "Units that can be ordered now, across warehouses. Eventually consistent: it follows the "
            "inventory within about a second; checkout reserves against the inventory itself."
        )
    )
    in_stock: bool

    @classmethod
    def of(cls, view: VariantView, levels: Mapping[str, int]) -> Variant:
        available = levels.get(view.sku, 0)
        # Its fields set as its `__init__` sets them, without the call: a page makes ~300, and the
        # keyword call into strawberry's `__init__` was half of this function's time (the object is
        # the same: tests/unit/gateway/test_catalog_types.py).
        made = _new(cls)
        made.__dict__ = {
            "id": _id_of(view.id),
            "sku": view.sku,
            "attributes": view.attributes,
            "price": money_of(view.price_amount, view.currency),
            "quantity_available": available,
            "in_stock": available > 0,
        }
        return made


@strawberry.type
class PriceRange:
    start: Money
    stop: Money


@strawberry.type
class Product:
    id: strawberry.ID
    slug: str
    name: str
    description: str
    attributes: JSON
    media: list[str]
    published: bool
    created_at: datetime
    updated_at: datetime
    variants: list[Variant]
    # Plain values too, filled for a whole page by `products_of` (the category from one batched load per
    # page): a resolver here ran once per product, and an async one made every product an awaitable.
    category: Category | None
    price_range: PriceRange | None
    view: strawberry.Private[ProductView]

    # Resolvers, so they cost nothing unless asked; asked on a page, one batch serves every product.
    @strawberry.field(
        description="Products like this one (by meaning where embeddings exist, else by shared "
        "category and attribute words), in stock first, its department's boosted; at most 20."
    )
    async def similar(self, info: strawberry.Info, first: int = 8) -> list[Product]:
        views = await recommended_views(info, Recommendation.SIMILAR, self.view.id, first)
        return await products_of(info, views)

    @strawberry.field(
        description="Products bought in the same orders as this one (at least the shop's minimum "
        "number of orders each), topped up with `similar` ones; at most 20."
    )
    async def bought_together(self, info: strawberry.Info, first: int = 8) -> list[Product]:
        views = await recommended_views(info, Recommendation.BOUGHT_TOGETHER, self.view.id, first)
        return await products_of(info, views)

    @classmethod
    def of(
        cls,
        view: ProductView,
        levels: Mapping[str, int],
        categories: Mapping[uuid.UUID, Category] | None = None,
    ) -> Product:
        """`categories`: the page's, made once for all its products."""
        variant = Variant.of
        return cls(
            id=strawberry.ID(str(view.id)),
            slug=view.slug,
            name=view.name,
            description=view.description,
            attributes=cast(JSON, view.attributes),
            media=view.media,
            published=view.published,
            created_at=view.created_at,
            updated_at=view.updated_at,
            variants=[variant(v, levels) for v in view.variants],
            category=categories.get(view.category_id) if categories and view.category_id else None,
            price_range=_price_range(view),
            view=view,
        )


def _price_range(view: ProductView) -> PriceRange | None:
    if not view.variants or view.currency is None:
        return None
    prices = [v.price_amount for v in view.variants]
    return PriceRange(start=Money.of(min(prices), view.currency), stop=Money.of(max(prices), view.currency))


@strawberry.type
class ProductEdge:
    cursor: str
    node: Product


@strawberry.type
class ProductConnection:
    edges: list[ProductEdge]
    page_info: PageInfo


@strawberry.enum
class ProductSortField(Enum):
    NAME = "NAME"
    PRICE = "PRICE"
    CREATED_AT = "CREATED_AT"


@strawberry.enum
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.input
class ProductSortInput:
    field: ProductSortField = ProductSortField.NAME
    direction: SortDirection = SortDirection.ASC


@strawberry.input(
    description="Products having a value of `name` among `values` (on the product or a variant)."
)
class AttributeFilterInput:
    name: str
    values: list[str]


@strawberry.input
class ProductFilterInput:
    category: strawberry.ID | None = None
    search: str | None = None
    price_min: str | None = strawberry.field(default=None, description="Decimal string in the shop currency.")
    price_max: str | None = None
    in_stock: bool | None = None
    attributes: list[AttributeFilterInput] | None = None


_STOCK_FIELDS = frozenset({"quantityAvailable", "inStock"})


def selected_names(info: strawberry.Info) -> set[str]:
    """The names of every field (and fragment) the query selects under this one, at any depth, this
    one's own included: read from the document's nodes, where `info.selected_fields` first converted
    the whole selection, arguments and directives included, into Strawberry's objects on every call."""
    raw = info._raw_info
    fragments = raw.fragments
    names: set[str] = set()
    stack: list[Any] = list(raw.field_nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, FragmentSpreadNode):
            # A spread is named, and its fragment's selections are walked.
            names.add(node.name.value)
            fragment = fragments.get(node.name.value)
            selection_set = fragment.selection_set if fragment is not None else None
        else:
            # Inline fragments have no name (before, `... on Product { variants { inStock } }` failed
            # INTERNAL).
            if isinstance(node, FieldNode):
                names.add(node.name.value)
            selection_set = node.selection_set
        if selection_set is not None:
            stack.extend(selection_set.selections)
    return names


def asks_for_availability(names: set[str]) -> bool:
    """Whether `quantityAvailable` or `inStock` is among the selected `names`."""
    return not names.isdisjoint(_STOCK_FIELDS)


async def products_of(
    info: strawberry.Info,
    views: Sequence[ProductView],
    levels: Mapping[str, int] | None = None,
    names: set[str] | None = None,
    known: Sequence[CategoryView] | None = None,
) -> list[Product]:
    """`views` as GraphQL products, with what the query asks of them loaded for all at once: the
    availability of every variant (given with a listing page, or one batched call to the catalog's
    read model) and the categories (given with a listing page as `known`, or one batched load).
    `names`: `selected_names(info)`, if known."""
    if names is None:
        names = selected_names(info)
    if levels is None:
        levels = await _levels(info, [v.sku for p in views for v in p.variants], names)
    categories: dict[uuid.UUID, CategoryView] = {}
    wanted = list({v.category_id for v in views if v.category_id is not None})
    if wanted and "category" in names:
        given = {c.id: c for c in known or ()}
        categories = {i: given[i] for i in wanted if i in given}
        missing = [i for i in wanted if i not in given]
        if missing:
            loader = info.context.catalog_loaders.category_by_id
            found: list[CategoryView | None] = await loader.load_many(missing)
            categories.update((c.id, c) for c in found if c is not None)
    info.context.shows([*(cdn.product_key(v.id) for v in views), *map(cdn.category_key, categories)])
    shown = {i: Category.of(c) for i, c in categories.items()}
    return [Product.of(v, levels, shown) for v in views]


async def sku_levels(info: strawberry.Info, skus: list[str]) -> Mapping[str, int]:
    """Availability of `skus` in one batched call, when the query asks for it."""
    return await _levels(info, skus, selected_names(info))


async def _levels(info: strawberry.Info, skus: list[str], names: set[str]) -> Mapping[str, int]:
    if not skus or names.isdisjoint(_STOCK_FIELDS):
        return {}
    levels: dict[str, int] = await info.context.availability.available(skus)
    return levels
