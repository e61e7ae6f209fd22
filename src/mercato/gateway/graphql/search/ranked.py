"""`products(filter: {search})` ranked by relevance: the search context orders the ids, the catalog
gives the products (one call each), the page keeps the search's order."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry

from mercato.catalog.service_layer.listing import ProductFilter
from mercato.catalog.service_layer.views import ProductView
from mercato.search import SearchFilter, SearchMode, SearchRequest, SearchResult


def search_filter(f: ProductFilter) -> SearchFilter:
    return SearchFilter(
        category_id=f.category_id,
        price_min=f.price_min,
        price_max=f.price_max,
        in_stock=f.in_stock,
        attributes=f.attributes,
    )


async def ranked_products(
    info: strawberry.Info, request: SearchRequest
) -> tuple[SearchResult, list[tuple[int, ProductView]]]:
    """The search's page and its products as (position, product), in the search's order. A product
    unpublished since it was indexed is left out (its position is kept for the cursors)."""
    result = await info.context.clients.search.search(request)
    ids = [hit.product_id for hit in result.hits]
    views: Sequence[ProductView] = await info.context.clients.catalog.products_by_ids(ids) if ids else []
    by_id = {view.id: view for view in views}
    return result, [
        (result.offset + i, by_id[hit.product_id])
        for i, hit in enumerate(result.hits)
        if hit.product_id in by_id
    ]


def products_request(query: str, first: int, after: str | None, f: ProductFilter) -> SearchRequest:
    # The storefront's `products(filter: {search})`: hybrid when embeddings are there (else lexical),
    # reading filters ("under $60", "in stock") out of the words like `search` does.
    return SearchRequest(
        query=query, first=first, after=after, filter=search_filter(f), mode=SearchMode.HYBRID
    )
