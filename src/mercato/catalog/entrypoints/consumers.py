"""Event consumers of the catalog: its own events drop cached pages and purge the CDN's copies;
inventory's feed availability."""

from __future__ import annotations

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
from mercato.catalog.service_layer.imported import record_imported_levels
from mercato.catalog.service_layer.queries import CatalogQueries
from mercato.catalog.service_layer.unit_of_work import CatalogUnitOfWork
from mercato.platform.cdn import LoggingPurger, Purger
from mercato.platform.events import Envelope
from mercato.platform.inbox import Handler, Subscription
from mercato.platform.unit_of_work import UnitOfWork

# Every level change: the storefront shows `quantityAvailable`, so the read model keeps the units, not
# only their sign. A flip carries the version of the level change written beside it, so it has no
# handler (acknowledged, no inbox row, no SQL). Ordering and staleness: docs/events.md, "Catalog
# availability".
STOCK_LEVEL_CHANGED = "inventory.stock_level_changed"
# A bulk import's stock counts: many SKUs' levels in one event (mercato.app.bulk).
STOCK_LEVELS_IMPORTED = "inventory.stock_levels_imported"
# Seconds between two fetches of the availability consumer (see `subscriptions`).
AVAILABILITY_FETCH_INTERVAL = 2.0

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

    async def flipped() -> None:
        await queries.invalidate()
        await edge.purge(AVAILABILITY_KEYS)

    async def stock_level_changed(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(uow, CatalogUnitOfWork)
        payload = envelope.payload
        # Staged: the batch's levels are written together when the consumer commits it; a flip
        # between in and out of stock drops cached pages and purges the edge after that commit.
        uow.stage_level(str(payload["sku"]), int(payload["available"]), int(payload["version"]), flipped)

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
            # Fetch at most every 2 s: the level events of a busy moment arrive as one batch (one
            # inbox claim, one write, one commit) instead of one transaction per order; the read model
            # lags the inventory by up to this much more (docs/events.md, "Catalog availability").
            fetch_interval=AVAILABILITY_FETCH_INTERVAL,
            # Both handlers write levels only over an older version (`adapters.availability`): a
            # redelivered event changes nothing, so no inbox row is claimed (one INSERT less a batch).
            inbox=False,
            handlers={
                STOCK_LEVEL_CHANGED: stock_level_changed,
                STOCK_LEVELS_IMPORTED: stock_levels_imported,
            },
        ),
    ]
