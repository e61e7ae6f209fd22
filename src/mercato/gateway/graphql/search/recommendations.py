"""`Product.similar` and `Product.boughtTogether`, loaded for a whole page at once.

Every product of a page asks in the same turn of the event loop, so one DataLoader batch asks search
once per list for all of them, and the recommended products come from the catalog in one batched
load (`CatalogLoaders.product_by_id`): a page with recommendations costs the same number of
statements for 1 or 100 products.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum

import strawberry
from strawberry.dataloader import DataLoader

from mercato.catalog.service_layer.views import ProductView
from mercato.platform.errors import ClientError, Unavailable
from mercato.search import RECOMMENDATIONS_MAX, Recommended, SearchClient

Key = tuple["Recommendation", uuid.UUID, int]  # (which list, product, first)
# What one call to search may ask about (search's own limit per call).
_BATCH_MAX = 100


class Recommendation(Enum):
    SIMILAR = "similar"
    BOUGHT_TOGETHER = "bought_together"


class SearchLoaders:
    """Per request, like the other loaders: batching and caching never leak between requests.

    One loader for both lists: a page asking both gets both in the same batch, so every product's
    resolver resumes in the same turn of the loop and the recommended products are one catalog load."""

    def __init__(self, client: SearchClient) -> None:
        self._asks: dict[Recommendation, Callable[[Sequence[uuid.UUID], int], Awaitable[Recommended]]] = {
            Recommendation.SIMILAR: client.similar,
            Recommendation.BOUGHT_TOGETHER: client.bought_together,
        }
        self.recommended: DataLoader[Key, tuple[uuid.UUID, ...]] = DataLoader(
            self._load, max_batch_size=_BATCH_MAX
        )

    async def _load(self, keys: Sequence[Key]) -> list[tuple[uuid.UUID, ...]]:
        asked: dict[tuple[Recommendation, int], list[uuid.UUID]] = {}
        for kind, product_id, first in keys:
            asked.setdefault((kind, first), []).append(product_id)
        groups = list(asked.items())  # one group per list, unless aliases ask for different sizes
        answers = await asyncio.gather(*(self._asks[kind](ids, first) for (kind, first), ids in groups))
        found: dict[Key, tuple[uuid.UUID, ...]] = {}
        for ((kind, first), ids), answer in zip(groups, answers, strict=True):
            found.update({(kind, i, first): answer.get(i, ()) for i in ids})
        return [found[key] for key in keys]


async def recommended_views(
    info: strawberry.Info, kind: Recommendation, product_id: uuid.UUID, first: int
) -> list[ProductView]:
    """The products recommended for `product_id`, as catalog views, in recommendation order (one
    unpublished since it was indexed is left out)."""
    loaders: SearchLoaders | None = info.context.search_loaders
    if loaders is None:
        raise Unavailable("recommendations are not available in this deployment")
    if not 1 <= first <= RECOMMENDATIONS_MAX:
        # Checked here, not only by search: a bad size would fail the whole page's batch.
        raise ClientError(f"first must be 1-{RECOMMENDATIONS_MAX}", field="first")
    ids = await loaders.recommended.load((kind, product_id, first))
    if not ids:
        return []
    views: list[ProductView | None] = await info.context.catalog_loaders.product_by_id.load_many(ids)
    return [v for v in views if v is not None]
