"""Wires search: one place that picks its implementations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mercato.platform.db import Database
from mercato.platform.inbox import Subscription
from mercato.platform.outbox import Outbox
from mercato.search.adapters import tables
from mercato.search.entrypoints.consumers import subscriptions
from mercato.search.service_layer.engine import SearchEngine
from mercato.search.service_layer.ports import CatalogPort, Embedder
from mercato.search.service_layer.semantic import Semantic
from mercato.search.service_layer.unit_of_work import SearchUnitOfWork

CONTEXT = "search"


class SearchService:
    """The search index (kept by its consumers) and the engine that queries it."""

    context = CONTEXT
    schema = tables.SCHEMA

    def __init__(
        self,
        db: Database,
        catalog: CatalogPort,
        namespace: str,
        on_commit: Callable[[], None] | None = None,
        on_index_change: Callable[[], Awaitable[None]] | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.db = db
        self.catalog = catalog
        self.outbox = Outbox(tables.outbox, namespace)
        # Without an embedder (its packages absent) or pgvector, search is lexical alone.
        self.semantic = Semantic(embedder)
        self.engine = SearchEngine(db, self.semantic)
        self.on_commit = on_commit
        self.on_index_change = on_index_change

    def uow(self) -> SearchUnitOfWork:
        return SearchUnitOfWork(self.db, self.outbox, self.on_commit)

    def subscriptions(self) -> list[Subscription]:
        return subscriptions(self.catalog, self.semantic, self.on_index_change)
