"""The search context's unit of work (the index on one transaction) and its handlers' dependencies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from mercato.platform.db import Database
from mercato.platform.unit_of_work import UnitOfWork
from mercato.search.adapters.co_purchases import CoPurchases
from mercato.search.adapters.index import SearchIndex
from mercato.search.service_layer.semantic import Semantic


class SearchUnitOfWork(UnitOfWork):
    index: SearchIndex
    co_purchases: CoPurchases

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.index = SearchIndex(self.conn)
        self.co_purchases = CoPurchases(self.conn)
        return self


@dataclass(frozen=True)
class SearchDeps:
    """What every search handler gets besides its command (built once in `bootstrap`)."""

    db: Database
    uow: Callable[[], SearchUnitOfWork]
    semantic: Semantic
    # Orders a pair must share before `boughtTogether` shows it: one order is a coincidence.
    min_support: int = 2
