"""Writes to `search.co_purchases`: how many confirmed orders bought each pair of products.

Each pair is stored in both directions, so the products bought with one product are one index range
(`co_purchases_strongest_idx`). An order's pairs are upserted in one statement, in (product, other)
order: concurrent batches lock the rows they share in the same order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.platform.sql import Sql, rowcount

# Once per confirmed order: straight to asyncpg (`platform.sql`).
_PRODUCTS_OF_SKUS = Sql(
    "SELECT DISTINCT product_id FROM search.documents WHERE skus && CAST(:skus AS text[]) ORDER BY product_id"
)
_COUNT_PAIRS = Sql(
    "INSERT INTO search.co_purchases AS c (product_id, other_id, orders) "
    "SELECT a, b, 1 FROM unnest(CAST(:ids AS uuid[])) AS a, unnest(CAST(:ids AS uuid[])) AS b "
    "WHERE a <> b ORDER BY a, b "
    "ON CONFLICT (product_id, other_id) DO UPDATE SET orders = c.orders + 1"
)


class CoPurchases:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def products_of(self, skus: Sequence[str]) -> list[uuid.UUID]:
        """The indexed products the SKUs belong to (a SKU of a product not in the index: none)."""
        if not skus:
            return []
        return [r[0] for r in await _PRODUCTS_OF_SKUS.fetch(self.conn, {"skus": list(skus)})]

    async def count_together(self, product_ids: Sequence[uuid.UUID]) -> int:
        """One more order for every pair of `product_ids` (distinct ids); returns the rows touched."""
        ids = sorted(set(product_ids))
        if len(ids) < 2:
            return 0
        return rowcount(await _COUNT_PAIRS.execute(self.conn, {"ids": ids}))
