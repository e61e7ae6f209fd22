"""Wires the catalog: one place that picks its implementations."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from mercato.catalog.adapters import tables
from mercato.catalog.domain.commands import CatalogCommand
from mercato.catalog.entrypoints.consumers import subscriptions
from mercato.catalog.service_layer.dispatch import COMMAND_HANDLERS
from mercato.catalog.service_layer.queries import CatalogQueries
from mercato.catalog.service_layer.unit_of_work import CatalogDeps, CatalogUnitOfWork
from mercato.platform.cache import Cache
from mercato.platform.cdn import Purger
from mercato.platform.db import Database
from mercato.platform.inbox import Subscription
from mercato.platform.outbox import Outbox

CONTEXT = "catalog"


class CatalogService:
    """The catalog's message bus: `handle(command)` runs the use case (one transaction)."""

    context = CONTEXT
    schema = tables.SCHEMA

    def __init__(
        self,
        db: Database,
        cache: Cache,
        namespace: str,
        on_commit: Callable[[], None] | None = None,
        purger: Purger | None = None,
    ) -> None:
        self.db = db
        self.purger = purger
        self.outbox = Outbox(tables.outbox, namespace)
        self.queries = CatalogQueries(db, cache)
        self.on_commit = on_commit
        self.deps = CatalogDeps(uow=self.uow)

    def uow(self) -> CatalogUnitOfWork:
        return CatalogUnitOfWork(self.db, self.outbox, self.on_commit)

    async def handle(self, command: CatalogCommand) -> uuid.UUID:
        handler = COMMAND_HANDLERS.get(type(command))
        if handler is None:
            raise TypeError(f"catalog has no handler for {type(command).__name__}")
        changed: uuid.UUID = await handler(command, self.deps)
        return changed

    def subscriptions(self) -> list[Subscription]:
        return subscriptions(self.queries, self.purger)
