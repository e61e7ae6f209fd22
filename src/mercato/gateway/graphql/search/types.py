"""Search types of the GraphQL API: results with facets and the interpretation of the query."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

import strawberry

from mercato.gateway.graphql.catalog.types import ProductConnection
from mercato.gateway.graphql.core.types import Money
from mercato.search import Facets, Interpretation


@strawberry.enum(description="How results are found: by words, by meaning, or both fused.")
class SearchModeInput(Enum):
    LEXICAL = "LEXICAL"
    SEMANTIC = "SEMANTIC"
    HYBRID = "HYBRID"


@strawberry.type
class CategoryFacet:
    category_id: strawberry.ID
    name: str
    count: int


@strawberry.type
class PriceRangeFacet:
    start: Money
    stop: Money | None = strawberry.field(description="Exclusive; null: no upper bound.")
    count: int


@strawberry.type
class FacetValue:
    value: str
    count: int


@strawberry.type
class AttributeFacet:
    name: str
    values: list[FacetValue]


@strawberry.type(description="Counts over the first 500 results.")
class SearchFacets:
    categories: list[CategoryFacet]
    price_ranges: list[PriceRangeFacet]
    attributes: list[AttributeFacet] = strawberry.field(description="What variants differ by: colour, size.")
    in_stock: int = strawberry.field(description="Products with a variant that can be ordered now.")
    counted: int

    @classmethod
    def of(cls, facets: Facets, names: Mapping[str, str], currency: str) -> SearchFacets:
        return cls(
            categories=[
                CategoryFacet(category_id=strawberry.ID(str(c)), name=names.get(str(c), ""), count=n)
                for c, n in facets.categories
            ],
            price_ranges=[
                PriceRangeFacet(
                    start=Money.of(r.min_amount, currency),
                    stop=Money.of(r.max_amount, currency) if r.max_amount is not None else None,
                    count=r.count,
                )
                for r in facets.prices
            ],
            attributes=[
                AttributeFacet(name=name, values=[FacetValue(value=v, count=n) for v, n in values])
                for name, values in facets.attributes
            ],
            in_stock=facets.in_stock,
            counted=facets.counted,
        )


@strawberry.type
class SearchCorrection:
    typed: str
    searched: str


@strawberry.type(description="A filter read from the query's words, and the words it came from.")
class ReadFilter:
    kind: str = strawberry.field(
        description="price_max, price_min, price_between, price_range, in_stock, department, or an "
        "attribute name (color, size)."
    )
    words: str


@strawberry.type(description="How the query was read, for a storefront to show and undo.")
class SearchInterpretation:
    text: str = strawberry.field(description="The words searched for, typos corrected.")
    corrections: list[SearchCorrection]
    unknown_words: list[str] = strawberry.field(description="Words that match nothing in the catalog.")
    filters: list[ReadFilter] = strawberry.field(
        description="Filters read from the words: their matches come first (search again with "
        "`interpret: false` to undo)."
    )
    category_id: strawberry.ID | None
    price_min: Money | None
    price_max: Money | None
    in_stock: bool | None

    @classmethod
    def of(cls, reading: Interpretation, currency: str) -> SearchInterpretation:
        f = reading.filter
        return cls(
            text=reading.text,
            corrections=[SearchCorrection(typed=c.typed, searched=c.searched) for c in reading.corrections],
            unknown_words=list(reading.unknown),
            filters=[ReadFilter(kind=kind, words=words) for kind, words in reading.sources],
            category_id=strawberry.ID(str(f.category_id)) if f.category_id else None,
            price_min=Money.of(f.price_min, currency) if f.price_min is not None else None,
            price_max=Money.of(f.price_max, currency) if f.price_max is not None else None,
            in_stock=f.in_stock,
        )


@strawberry.type(
    description="A product's name and a snippet of its description with the searched words (typos "
    "corrected) in `<mark>`; the rest HTML-escaped, so it can be inserted as HTML."
)
class SearchHighlight:
    product_id: strawberry.ID
    name: str
    snippet: str = strawberry.field(description="About 160 characters around the first match.")


@strawberry.type
class SearchResults:
    products: ProductConnection
    highlights: list[SearchHighlight] = strawberry.field(
        description="One per product of `products`, in the same order."
    )
    facets: SearchFacets
    interpretation: SearchInterpretation
    semantic: bool = strawberry.field(description="Whether meaning (embeddings) took part in the ranking.")
