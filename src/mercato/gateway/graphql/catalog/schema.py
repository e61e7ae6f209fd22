"""Catalog queries of the storefront: products (Relay connection), product, categories."""

from __future__ import annotations

import strawberry

from mercato.catalog.domain.errors import ProductListErrorCode
from mercato.catalog.service_layer.listing import (
    Cursor,
    ListingRequest,
    ProductFilter,
    ProductSort,
)
from mercato.catalog.service_layer.views import ProductView
from mercato.gateway.graphql.catalog.mutations import CatalogMutations
from mercato.gateway.graphql.catalog.types import (
    Category,
    Product,
    ProductConnection,
    ProductEdge,
    ProductFilterInput,
    ProductSortInput,
    SortDirection,
    asks_for_availability,
    products_of,
    selected_names,
)
from mercato.gateway.graphql.core.ids import parse_id, parse_optional_id
from mercato.gateway.graphql.core.types import PageInfo
from mercato.gateway.graphql.search.ranked import products_request, ranked_products
from mercato.platform import cdn
from mercato.platform.errors import ClientError
from mercato.platform.types import Money, MoneyError
from mercato.search import SearchRequest, SearchResult

__all__ = ["CatalogMutations", "CatalogQueries"]


def _price(value: str | None, field: str, currency: str) -> int | None:
    if value is None:
        return None
    try:
        return Money.from_decimal_string(value, currency).amount
    except MoneyError as exc:
        raise ClientError(str(exc), code=ProductListErrorCode.INVALID, field=field) from None


def product_filter(given: ProductFilterInput | None, currency: str) -> ProductFilter:
    if given is None:
        return ProductFilter()
    return ProductFilter(
        category_id=parse_optional_id(given.category, "filter.category"),
        search=given.search,
        price_min=_price(given.price_min, "filter.priceMin", currency),
        price_max=_price(given.price_max, "filter.priceMax", currency),
        in_stock=given.in_stock,
        attributes=tuple((a.name, tuple(a.values)) for a in given.attributes or ()),
    )


async def _by_relevance(info: strawberry.Info, request: SearchRequest) -> ProductConnection:
    try:
        request.offset()
    except ClientError as exc:
        raise ClientError(exc.message, code=ProductListErrorCode.INVALID_CURSOR, field="after") from None
    result, found = await ranked_products(info, request)
    return await relevance_connection(info, request, result, found)


async def relevance_connection(
    info: strawberry.Info,
    request: SearchRequest,
    result: SearchResult,
    found: list[tuple[int, ProductView]],
) -> ProductConnection:
    """A page of products in the search's order, each with its position's cursor."""
    # Words can filter by stock ("in stock"): a relevance list may move with any SKU's availability.
    info.context.shows([cdn.LISTINGS, cdn.AVAILABILITY])
    nodes = await products_of(info, [view for _, view in found])
    edges = [
        ProductEdge(cursor=request.cursor(position), node=node)
        for (position, _), node in zip(found, nodes, strict=True)
    ]
    return ProductConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=result.has_next_page,
            has_previous_page=request.after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


@strawberry.type
class CatalogQueries:
    @strawberry.field(
        description=(
            "Published products, a page at a time (at most 100 per page). With `filter.search` and no "
            "`sortBy`, ranked by relevance: any word may match, typos are corrected, and filters "
            'written in the words ("under $60", "in stock") apply.'
        )
    )
    async def products(
        self,
        info: strawberry.Info,
        first: int = 20,
        after: str | None = None,
        filter: ProductFilterInput | None = None,
        sort_by: ProductSortInput | None = None,
    ) -> ProductConnection:
        listing_filter = product_filter(filter, info.context.settings.default_currency)
        query = (listing_filter.search or "").strip()
        if query and sort_by is None and info.context.clients.search is not None:
            # A search with no explicit sort is ranked by relevance (the search context). The page
            # size and filter are checked as the listing checks them, with the listing's codes.
            ListingRequest(first=first, filter=listing_filter).validate()
            return await _by_relevance(info, products_request(query, first, after, listing_filter))
        sort = sort_by or ProductSortInput()
        request = ListingRequest(
            first=first,
            after=after,
            filter=listing_filter,
            sort=ProductSort(sort.field.value),
            descending=sort.direction is SortDirection.DESC,
        )
        # The page's availability comes with the page: one call, one round trip to the catalog's
        # database (no call to the inventory per page).
        names = selected_names(info)
        page = await info.context.clients.catalog.list_products(
            request, availability=asks_for_availability(names)
        )
        info.context.shows(
            [cdn.LISTINGS, cdn.AVAILABILITY] if listing_filter.in_stock is not None else [cdn.LISTINGS]
        )
        nodes = await products_of(info, page.items, page.available, names, page.categories)
        edges = [
            ProductEdge(cursor=Cursor.after_product(p, request.sort, request.descending).encode(), node=node)
            for p, node in zip(page.items, nodes, strict=True)
        ]
        return ProductConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )

    @strawberry.field(description="A published product by id or slug; null when there is none.")
    async def product(
        self,
        info: strawberry.Info,
        id: strawberry.ID | None = None,
        slug: str | None = None,
    ) -> Product | None:
        if (id is None) == (slug is None):
            raise ClientError("give exactly one of id and slug", field="id")
        product_id = parse_id(id, "id") if id is not None else None
        view = await info.context.clients.catalog.product(product_id=product_id, slug=slug)
        return (await products_of(info, [view]))[0] if view is not None else None

    @strawberry.field(description="Every category, parents before children in menu order.")
    async def categories(self, info: strawberry.Info) -> list[Category]:
        found = await info.context.clients.catalog.categories()
        info.context.shows([cdn.CATEGORIES, *(cdn.category_key(c.id) for c in found)])
        return [Category.of(c) for c in found]
