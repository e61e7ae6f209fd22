"""The search document of one product: what is searched, how each part weighs, what is filtered on.

The catalog owns products; search keeps one document per published product, rebuilt from the
catalog's current state whenever one of its events names the product. Rebuilding from current
state (rather than applying each event's delta) makes the consumer idempotent and indifferent to
order: the newest read wins, guarded by the product's `updated_at`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mercato.search.domain.text import words


@dataclass(frozen=True)
class SearchDocument:
    product_id: uuid.UUID
    slug: str
    name: str
    # Names of the product's category and its ancestors, root first ("Women Tops Jackets").
    category_text: str
    # Attribute values of the product and options of its variants ("Red", "XL", "Waterproof").
    attribute_text: str
    description: str
    updated_at: datetime
    category_ids: tuple[uuid.UUID, ...] = ()
    skus: tuple[str, ...] = ()
    prices: tuple[int, ...] = ()  # minor units, one per variant
    # Attribute name -> the values the product or one of its variants has, for filters and facets.
    facets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The attributes its variants differ by ("color", "size"): what a shopper picks, so what a
    # query's words may filter on ("red", "size 32").
    variant_axes: tuple[str, ...] = ()

    @property
    def min_price(self) -> int:
        return min(self.prices, default=0)

    def semantic_text(self) -> str:
        """What the embedding is computed from: the name first (the model reads at most 256 word
        pieces, so the description's tail is what gets cut), then where and what it is."""
        parts = (self.name, self.category_text, self.attribute_text, self.description)
        return ". ".join(p for p in parts if p)

    def attribute_values(self) -> set[tuple[str, str, bool]]:
        """(attribute, value, whether the variants differ by it) of each of its values: the
        document's share of the values the query reader knows (search.attribute_values)."""
        return values_of(self.facets, self.variant_axes)

    def terms(self) -> list[str]:
        """The distinct words of every field, sorted: the document's share of the vocabulary that
        spelling correction draws on (sorted, so vocabulary rows are always locked in one order)."""
        text = " ".join((self.name, self.category_text, self.attribute_text, self.description))
        return sorted(set(words(text)))


def _values(value: Any) -> list[str]:
    if isinstance(value, bool):
        return ["true"] if value else []
    if isinstance(value, str | int | float):
        return [str(value)]
    if isinstance(value, list | tuple):
        return [str(v) for v in value if isinstance(v, str | int | float) and not isinstance(v, bool)]
    return []


def facet_values(
    product_attributes: Mapping[str, Any], variant_attributes: Iterable[Mapping[str, Any]]
) -> dict[str, tuple[str, ...]]:
    """Attribute name -> distinct values, product first then variants in order."""
    merged: dict[str, dict[str, None]] = {}
    for attributes in (product_attributes, *variant_attributes):
        for name, value in attributes.items():
            for v in _values(value):
                merged.setdefault(name, {}).setdefault(v, None)
    return {name: tuple(values) for name, values in merged.items() if values}


def attribute_text(facets: Mapping[str, tuple[str, ...]]) -> str:
    """The searchable text of attributes: their values, and the name of each flag that is set
    ("eco_collection": true reads "eco collection"), so a shopper's words meet either."""
    parts: list[str] = []
    for name, values in facets.items():
        if values == ("true",):
            parts.append(name.replace("_", " "))
        else:
            parts.extend(v for v in values if v != "true")
    return " ".join(parts)


def values_of(facets: Mapping[str, Iterable[str]], variant_axes: Iterable[str]) -> set[tuple[str, str, bool]]:
    axes = set(variant_axes)
    return {(name, value, name in axes) for name, values in facets.items() for value in values}
