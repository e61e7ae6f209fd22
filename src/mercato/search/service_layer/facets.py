"""Facets of a search's results: how many products per category, price range, variant value, and
how many can be bought now. Counted over the first `FACET_DEPTH` results in one statement."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection

FACET_DEPTH = 500
# Price ranges in major units (the last is open): the usual steps of a storefront's price filter.
PRICE_STEPS = (0, 25, 50, 100, 200)

_ROWS = text("""
    SELECT d.category_ids[array_length(d.category_ids, 1)] AS category_id, d.min_price, d.facets,
        d.variant_axes,
        EXISTS (SELECT 1 FROM search.sku_availability a WHERE a.sku = ANY(d.skus) AND a.available > 0)
            AS in_stock
    FROM search.documents d WHERE d.product_id = ANY(:ids)
""").bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))


@dataclass(frozen=True)
class PriceRange:
    min_amount: int  # minor units, inclusive
    max_amount: int | None  # exclusive; None: no upper bound
    count: int


@dataclass(frozen=True)
class Facets:
    categories: tuple[tuple[uuid.UUID, int], ...]  # the product's own category, most products first
    prices: tuple[PriceRange, ...]
    attributes: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]  # variant attributes only
    in_stock: int
    counted: int  # products the facets were counted over


def _price_ranges(prices: Sequence[int], minor_per_unit: int) -> tuple[PriceRange, ...]:
    bounds = [step * minor_per_unit for step in PRICE_STEPS]
    ranges = []
    for i, low in enumerate(bounds):
        high = bounds[i + 1] if i + 1 < len(bounds) else None
        count = sum(1 for p in prices if p >= low and (high is None or p < high))
        if count:
            ranges.append(PriceRange(low, high, count))
    return tuple(ranges)


async def count(conn: AsyncConnection, product_ids: Sequence[uuid.UUID], minor_per_unit: int = 100) -> Facets:
    rows = (await conn.execute(_ROWS, {"ids": list(product_ids)})).all() if product_ids else []
    categories = Counter(r.category_id for r in rows if r.category_id is not None)
    values: dict[str, Counter[str]] = {}
    for r in rows:
        for axis in r.variant_axes:
            values.setdefault(axis, Counter()).update(r.facets.get(axis, []))
    return Facets(
        categories=tuple(sorted(categories.items(), key=lambda kv: (-kv[1], str(kv[0])))),
        prices=_price_ranges([r.min_price for r in rows], minor_per_unit),
        attributes=tuple(
            (name, tuple(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))))
            for name, counter in sorted(values.items())
        ),
        in_stock=sum(1 for r in rows if r.in_stock),
        counted=len(rows),
    )
