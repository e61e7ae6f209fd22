"""The storefront's search: ranked products, facets and the query's interpretation in one round trip."""

from __future__ import annotations

import strawberry

from mercato.catalog.service_layer.listing import ListingRequest
from mercato.gateway.graphql.catalog.schema import product_filter, relevance_connection
from mercato.gateway.graphql.catalog.types import ProductFilterInput
from mercato.gateway.graphql.search.ranked import ranked_products, search_filter
from mercato.gateway.graphql.search.types import (
    SearchFacets,
    SearchHighlight,
    SearchInterpretation,
    SearchModeInput,
    SearchResults,
)
from mercato.platform.errors import Unavailable
from mercato.search import Facets, SearchMode, SearchRequest, highlight

__all__ = ["SearchQueries"]


@strawberry.type
class SearchQueries:
    @strawberry.field(
        description=(
            "Published products ranked by relevance to `query` (words and meaning), with facets and "
            "how the query was read. Any word may match, typos are corrected, and filters written in "
            'the words ("women\'s red jacket under $60") put their matches first.'
        )
    )
    async def search(
        self,
        info: strawberry.Info,
        query: str,
        first: int = 20,
        after: str | None = None,
        filter: ProductFilterInput | None = None,
        mode: SearchModeInput = SearchModeInput.HYBRID,
        interpret: bool = True,
    ) -> SearchResults:
        if info.context.clients.search is None:
            raise Unavailable("search is not available in this deployment")
        currency = info.context.settings.default_currency
        given = product_filter(filter, currency)
        # The page size and filter are checked as the listing checks them, with the listing's codes.
        ListingRequest(first=first, filter=given).validate()
        request = SearchRequest(
            query=query,
            first=first,
            after=after,
            filter=search_filter(given),
            mode=SearchMode(mode.value),
            interpret=interpret,
            facets=True,
        )
        result, found = await ranked_products(info, request)
        names = {str(c.id): c.name for c in await info.context.clients.catalog.categories()}
        # Marked in Python over the page's own text: no statement, bounded per product (SCAN_CHARS).
        terms = result.interpretation.text.split()
        return SearchResults(
            products=await relevance_connection(info, request, result, found),
            highlights=[
                SearchHighlight(
                    product_id=strawberry.ID(str(view.id)),
                    name=highlight(view.name, terms),
                    snippet=highlight(view.description, terms, snippet=True),
                )
                for _, view in found
            ],
            facets=SearchFacets.of(result.facets or Facets((), (), (), 0, 0), names, currency),
            interpretation=SearchInterpretation.of(result.interpretation, currency),
            semantic=result.semantic,
        )
