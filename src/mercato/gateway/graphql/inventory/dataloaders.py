"""Per-request batch loaders for inventory: availability of every SKU on a page in one call."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from mercato.inventory.client import InventoryClient


class InventoryLoaders:
    def __init__(self, client: InventoryClient) -> None:
        self._client = client
        self.available_by_sku: DataLoader[str, int] = DataLoader(self._available)

    async def _available(self, skus: Sequence[str]) -> list[int]:
        levels = await self._client.availability(list(skus))
        return [levels.get(sku, 0) for sku in skus]
