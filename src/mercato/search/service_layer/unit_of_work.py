"""The search context's unit of work: the index on one transaction."""

from __future__ import annotations

from typing import Self

from mercato.platform.unit_of_work import UnitOfWork
from mercato.search.adapters.index import SearchIndex


class SearchUnitOfWork(UnitOfWork):
    index: SearchIndex

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.index = SearchIndex(self.conn)
        return self
