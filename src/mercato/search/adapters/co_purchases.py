"""Writes to `search.co_purchases`: how many confirmed orders bought each pair of products.

Each pair is stored in both directions, so the products bought with one product are one index range
(`co_purchases_strongest_idx`). An order's pairs are upserted in one statement, in (product, other)
order: concurrent batches lock the rows they share in the same order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import Text

_PRODUCTS_OF_SKUS = text("""
    SELECT DISTINCT product_id FROM search.documents WHERE skus && :skus ORDER BY product_id
""").bindparams(bindparam("skus", type_=ARRAY(Text)))
_COUNT_PAIRS = text("""
    INSERT INTO search.co_purchases AS c (product_id, other_id, orders)
    SELECT a, b, 1 FROM unnest(:ids) AS a, unnest(:ids) AS b WHERE a <> b ORDER BY a, b
    ON CONFLICT (product_id, other_id) DO UPDATE SET orders = c.orders + 1
""").bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))


class CoPurchases:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def products_of(self, skus: Sequence[str]) -> list[uuid.UUID]:
        """The indexed products the SKUs belong to (a SKU of a product not in the index: none)."""
        if not skus:
            return []
        return [r.product_id for r in await self.conn.execute(_PRODUCTS_OF_SKUS, {"skus": list(skus)})]

    async def count_together(self, product_ids: Sequence[uuid.UUID]) -> int:
        """One more order for every pair of `product_ids` (distinct ids); returns the rows touched."""
        ids = sorted(set(product_ids))
        if len(ids) < 2:
            return 0
        result = await self.conn.execute(_COUNT_PAIRS, {"ids": ids})
        return result.rowcount
