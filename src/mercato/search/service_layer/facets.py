"""Facets of a search's results: how many products per category, price range, variant value, and
how many can be bought now. Counted over the first `FACET_DEPTH` results — the candidates the
ranking weighed (the fused lexical and semantic lists) — in one grouped statement: PostgreSQL
returns a few dozen counts, not the documents (decoding a document's facets in Python cost more
than the counting)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import BigInteger

FACET_DEPTH = 500
# Price ranges in major units (the last is open): the usual steps of a storefront's price filter.
PRICE_STEPS = (0, 25, 50, 100, 200)

# One row per count: kind 'c' (category id in `name`), 'p' (price range index in `name`),
# 'a' (attribute `name`, `value`), 's' (products in stock), 'n' (products counted).
_COUNTS = text("""
    WITH d AS MATERIALIZED (
        SELECT d.category_ids[array_length(d.category_ids, 1)] AS category_id, d.min_price, d.facets,
            d.variant_axes,
            EXISTS (SELECT 1 FROM search.sku_availability a WHERE a.sku = ANY(d.skus) AND a.available > 0)
                AS in_stock
        FROM search.documents d WHERE d.product_id = ANY(:ids))
    SELECT 'c' AS kind, CAST(category_id AS text) AS name, NULL AS value, count(*) AS n
        FROM d WHERE category_id IS NOT NULL GROUP BY category_id
    UNION ALL
    SELECT 'p', CAST(width_bucket(min_price, :bounds) AS text), NULL, count(*)
        FROM d GROUP BY 2
    UNION ALL
    SELECT 'a', a.name, v.value, count(*)
        FROM d, unnest(d.variant_axes) AS a(name), jsonb_array_elements_text(d.facets -> a.name) AS v(value)
        GROUP BY a.name, v.value
    UNION ALL
    SELECT 's', NULL, NULL, count(*) FILTER (WHERE in_stock) FROM d
    UNION ALL
    SELECT 'n', NULL, NULL, count(*) FROM d
""").bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))), bindparam("bounds", type_=ARRAY(BigInteger))
)


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


def _price_ranges(per_range: dict[int, int], bounds: Sequence[int]) -> tuple[PriceRange, ...]:
    """`per_range`: products per range index (width_bucket's: 1 is the first bound's range)."""
    ranges = []
    for i, low in enumerate(bounds):
        high = bounds[i + 1] if i + 1 < len(bounds) else None
        if count := per_range.get(i + 1, 0):
            ranges.append(PriceRange(low, high, count))
    return tuple(ranges)


async def count(conn: AsyncConnection, product_ids: Sequence[uuid.UUID], minor_per_unit: int = 100) -> Facets:
    if not product_ids:
        return Facets((), (), (), 0, 0)
    bounds = [step * minor_per_unit for step in PRICE_STEPS]
    rows = (await conn.execute(_COUNTS, {"ids": list(product_ids), "bounds": bounds})).all()
    categories: list[tuple[uuid.UUID, int]] = []
    per_range: dict[int, int] = {}
    values: dict[str, list[tuple[str, int]]] = {}
    in_stock = counted = 0
    for kind, name, value, n in rows:
        if kind == "c":
            categories.append((uuid.UUID(name), n))
        elif kind == "p":
            per_range[int(name)] = n
        elif kind == "a":
            values.setdefault(name, []).append((value, n))
        elif kind == "s":
            in_stock = n
        else:
            counted = n
    return Facets(
        categories=tuple(sorted(categories, key=lambda kv: (-kv[1], str(kv[0])))),
        prices=_price_ranges(per_range, bounds),
        attributes=tuple(
            (name, tuple(sorted(counts, key=lambda kv: (-kv[1], kv[0]))))
            for name, counts in sorted(values.items())
        ),
        in_stock=in_stock,
        counted=counted,
    )
