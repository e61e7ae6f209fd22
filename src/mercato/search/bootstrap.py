"""Wires search: one place that picks its implementations."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from mercato.platform.db import Database
from mercato.platform.inbox import Subscription
from mercato.platform.outbox import Outbox
from mercato.platform.unit_of_work import UnitOfWork
from mercato.search.adapters import tables
from mercato.search.domain import commands
from mercato.search.entrypoints.consumers import subscriptions
from mercato.search.service_layer.dispatch import COMMAND_HANDLERS, IN_UNIT_OF_WORK
from mercato.search.service_layer.engine import SearchEngine
from mercato.search.service_layer.ports import CatalogPort, Embedder
from mercato.search.service_layer.semantic import Semantic
from mercato.search.service_layer.unit_of_work import SearchDeps, SearchUnitOfWork

CONTEXT = "search"


class SearchService:
    """The search index (kept by its consumers), the engine that queries it, and the other use
    cases (`handle`: recommendations)."""

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
        *,
        min_support: int = 2,
    ) -> None:
        self.db = db
        self.catalog = catalog
        self.outbox = Outbox(tables.outbox, namespace)
        # Without an embedder (its packages absent) or pgvector, search is lexical alone.
        self.semantic = Semantic(embedder)
        # The catalog's top-level categories are the departments a query's words may name ("women's
        # jacket"); in `mercato serve search` `catalog` is the catalog's gRPC client.
        self.engine = SearchEngine(db, self.semantic, catalog)
        self.on_commit = on_commit
        self.on_index_change = on_index_change
        self.deps = SearchDeps(db=db, uow=self.uow, semantic=self.semantic, min_support=min_support)

    def uow(self) -> SearchUnitOfWork:
        return SearchUnitOfWork(self.db, self.outbox, self.on_commit)

    async def handle(
        self, cmd: commands.SimilarProducts | commands.BoughtTogether
    ) -> dict[uuid.UUID, tuple[uuid.UUID, ...]]:
        """Run one command (both are reads today: the recommendations)."""
        handler = COMMAND_HANDLERS.get(type(cmd))
        if handler is None:
            raise TypeError(f"search has no handler for {type(cmd).__name__}")
        found: dict[uuid.UUID, tuple[uuid.UUID, ...]] = await handler(cmd, self.deps)
        return found

    async def handle_in(self, cmd: Any, uow: UnitOfWork) -> Any:
        """Run `cmd` inside `uow`, an open unit of work of this service (an event consumer's): the
        caller commits."""
        handler = IN_UNIT_OF_WORK.get(type(cmd))
        if handler is None:
            raise TypeError(f"search runs no {type(cmd).__name__} in a caller's unit of work")
        if not isinstance(uow, SearchUnitOfWork):
            raise TypeError(f"{type(cmd).__name__} needs a SearchUnitOfWork, not {type(uow).__name__}")
        return await handler(cmd, uow)

    def subscriptions(self) -> list[Subscription]:
        return subscriptions(self.catalog, self.semantic, self.on_index_change, self.handle_in)
