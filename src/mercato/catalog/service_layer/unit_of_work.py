"""The catalog's unit of work: repositories on one transaction; their aggregates' events go to the outbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Self

from mercato.catalog.adapters.availability import upsert_levels
from mercato.catalog.adapters.repository import CategoryRepository, ProductRepository
from mercato.catalog.domain.model import Category
from mercato.platform.unit_of_work import UnitOfWork


class CatalogUnitOfWork(UnitOfWork):
    products: ProductRepository
    categories: CategoryRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.products = ProductRepository(self.conn)
        self.categories = CategoryRepository(self.conn)
        self.new_categories: list[Category] = []
        self._levels: dict[str, tuple[int, int]] = {}
        self._on_flip: Callable[[], Awaitable[None]] | None = None
        return self

    def stage_level(
        self, sku: str, available: int, version: int, on_flip: Callable[[], Awaitable[None]]
    ) -> None:
        """A SKU's level for the availability read model, written at commit with every level staged
        in this transaction in one statement (a consumer's batch of level events costs one write, not
        one per event), the newest version of each SKU kept. `on_flip` runs after the commit if a
        stored SKU changed between in and out of stock."""
        staged = self._levels.get(sku)
        if staged is None or staged[1] < version:
            self._levels[sku] = (available, version)
        self._on_flip = on_flip

    async def commit(self) -> None:
        for product in self.products.seen:
            self.add_events(product.events)
            product.events = []
        for category in self.new_categories:
            self.add_events(category.events)
            category.events = []
        if self._levels:
            staged = sorted((sku, available, version) for sku, (available, version) in self._levels.items())
            self._levels = {}
            if await upsert_levels(self.conn, staged) and self._on_flip is not None:
                # After commit: a reader refilling the cache in between must already see the new level.
                self.after_commit(self._on_flip)
        await super().commit()


@dataclass(frozen=True)
class CatalogDeps:
    """What every catalog handler gets besides its command: a fresh unit of work per call."""

    uow: Callable[[], CatalogUnitOfWork]
