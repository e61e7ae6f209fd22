"""Event consumers of the catalog: its own events drop cached pages and purge the CDN's copies;
inventory's feed availability."""

from __future__ import annotations

from mercato.catalog.domain import commands
from mercato.catalog.domain.events import (
    CategoryCreated,
    ProductCreated,
    ProductDeleted,
    ProductPublished,
    ProductsImported,
    ProductUpdated,
    VariantCreated,
    VariantPriceChanged,
    VariantUpdated,
)
from mercato.catalog.entrypoints.purge_keys import AVAILABILITY_KEYS, purge_keys
from mercato.catalog.service_layer.handlers import record_availability
from mercato.catalog.service_layer.imported import record_imported_levels
from mercato.catalog.service_layer.queries import CatalogQueries
from mercato.catalog.service_layer.unit_of_work import CatalogUnitOfWork
from mercato.platform.cdn import LoggingPurger, Purger
from mercato.platform.events import Envelope
from mercato.platform.inbox import Handler, Subscription
from mercato.platform.unit_of_work import UnitOfWork

# Only the flips: the `inStock` filter reads nothing but whether a SKU can be sold, and a level change
# that does not cross zero is not even claimed in the inbox (no handler: acknowledged, no SQL).
# Why flips alone keep the read model right: docs/events.md, "Catalog availability".
AVAILABILITY_FLIPPED = "inventory.availability_flipped"
# A bulk import's stock counts: many SKUs' levels in one event (mercato.app.bulk).
STOCK_LEVELS_IMPORTED = "inventory.stock_levels_imported"

_CACHE_EVENTS = (
    CategoryCreated,
    ProductCreated,
    ProductUpdated,
    ProductPublished,
    ProductDeleted,
    VariantCreated,
    VariantUpdated,
    VariantPriceChanged,
    ProductsImported,
)


def subscriptions(queries: CatalogQueries, purger: Purger | None = None) -> list[Subscription]:
    edge: Purger = purger or LoggingPurger()

    async def drop_cached_pages(envelope: Envelope, uow: UnitOfWork) -> None:
        # The change is already committed (the event is published after commit), so it is safe to drop
        # cached pages now. The edge after the batch commits, and after the gateway's cache: an edge
        # refetching must find the fresh answer there.
        await queries.invalidate()
        keys = purge_keys(envelope)
        uow.after_commit(lambda: edge.purge(keys))

    async def availability_flipped(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(uow, CatalogUnitOfWork)
        payload = envelope.payload
        flipped = await record_availability(
            commands.RecordAvailability(
                sku=str(payload["sku"]), available=int(payload["available"]), version=int(payload["version"])
            ),
            uow,
        )
        if flipped:
            # After commit: a reader refilling the cache in between must already see the new level.
            uow.after_commit(queries.invalidate)
            uow.after_commit(lambda: edge.purge(AVAILABILITY_KEYS))

    async def stock_levels_imported(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(uow, CatalogUnitOfWork)
        if await record_imported_levels(envelope.payload["levels"], uow):
            uow.after_commit(queries.invalidate)
            uow.after_commit(lambda: edge.purge(AVAILABILITY_KEYS))

    cache_handlers: dict[str, Handler] = {event.type_name(): drop_cached_pages for event in _CACHE_EVENTS}
    return [
        Subscription(name="cache", source_context="catalog", handlers=cache_handlers),
        Subscription(
            name="availability",
            source_context="inventory",
            handlers={
                AVAILABILITY_FLIPPED: availability_flipped,
                STOCK_LEVELS_IMPORTED: stock_levels_imported,
            },
        ),
    ]
