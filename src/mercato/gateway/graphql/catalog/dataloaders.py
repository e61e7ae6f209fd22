"""Per-request batch loaders for the catalog, named by their key."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from mercato.catalog.client import CatalogClient
from mercato.catalog.service_layer.views import CategoryView, ProductView


class CatalogLoaders:
    def __init__(self, client: CatalogClient) -> None:
        self._client = client
        self.category_by_id: DataLoader[uuid.UUID, CategoryView | None] = DataLoader(self._categories)
        # Published products by id (recommendations): one catalog call for every product a page asks.
        self.product_by_id: DataLoader[uuid.UUID, ProductView | None] = DataLoader(self._products)

    async def _categories(self, ids: Sequence[uuid.UUID]) -> list[CategoryView | None]:
        # The whole (cached) category list is one call; the tree is small next to products.
        by_id = {c.id: c for c in await self._client.categories()}
        return [by_id.get(i) for i in ids]

    async def _products(self, ids: Sequence[uuid.UUID]) -> list[ProductView | None]:
        by_id = {p.id: p for p in await self._client.products_by_ids(list(ids))}
        return [by_id.get(i) for i in ids]
