"""The catalog's unit of work: repositories on one transaction; their aggregates' events go to the outbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

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
        return self

    async def commit(self) -> None:
        for product in self.products.seen:
            self.add_events(product.events)
            product.events = []
        for category in self.new_categories:
            self.add_events(category.events)
            category.events = []
        await super().commit()


@dataclass(frozen=True)
class CatalogDeps:
    """What every catalog handler gets besides its command: a fresh unit of work per call."""

    uow: Callable[[], CatalogUnitOfWork]
