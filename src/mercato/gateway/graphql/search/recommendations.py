"""`Product.similar` and `Product.boughtTogether`, loaded for a whole page at once.

Every product of a page asks in the same turn of the event loop, so one DataLoader batch asks search
once for all of them (per `first`), and the recommended products come from the catalog in one
batched load (`CatalogLoaders.product_by_id`) shared by both fields: a page with recommendations
costs the same number of statements for 1 or 100 products.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum

import strawberry
from strawberry.dataloader import DataLoader

from mercato.catalog.service_layer.views import ProductView
from mercato.platform.errors import ClientError, Unavailable
from mercato.search import RECOMMENDATIONS_MAX, Recommended, SearchClient

Key = tuple[uuid.UUID, int]  # (product, first)
# What one call to search may ask about (search's own limit per call).
_BATCH_MAX = 100


class Recommendation(Enum):
    SIMILAR = "similar"
    BOUGHT_TOGETHER = "bought_together"


class SearchLoaders:
    """Per request, like the other loaders: batching and caching never leak between requests."""

    def __init__(self, client: SearchClient) -> None:
        self.similar: DataLoader[Key, tuple[uuid.UUID, ...]] = DataLoader(
            self._batch(client.similar), max_batch_size=_BATCH_MAX
        )
        self.bought_together: DataLoader[Key, tuple[uuid.UUID, ...]] = DataLoader(
            self._batch(client.bought_together), max_batch_size=_BATCH_MAX
        )

    @staticmethod
    def _batch(
        ask: Callable[[Sequence[uuid.UUID], int], Awaitable[Recommended]],
    ) -> Callable[[Sequence[Key]], Awaitable[list[tuple[uuid.UUID, ...]]]]:
        async def load(keys: Sequence[Key]) -> list[tuple[uuid.UUID, ...]]:
            by_first: dict[int, list[uuid.UUID]] = {}
            for product_id, first in keys:
                by_first.setdefault(first, []).append(product_id)
            found: dict[Key, tuple[uuid.UUID, ...]] = {}
            for first, ids in by_first.items():  # one call, unless aliases ask for different sizes
                answer = await ask(ids, first)
                found.update({(i, first): answer.get(i, ()) for i in ids})
            return [found[key] for key in keys]

        return load


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
    loader = loaders.similar if kind is Recommendation.SIMILAR else loaders.bought_together
    ids = await loader.load((product_id, first))
    if not ids:
        return []
    views: list[ProductView | None] = await info.context.catalog_loaders.product_by_id.load_many(ids)
    return [v for v in views if v is not None]
