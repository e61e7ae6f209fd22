"""Event consumers of the catalog: its own events drop cached pages; inventory's feed availability."""

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
from mercato.catalog.service_layer.imported import record_imported_levels
from mercato.catalog.service_layer.queries import CatalogQueries
from mercato.catalog.service_layer.unit_of_work import CatalogUnitOfWork
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


def subscriptions(queries: CatalogQueries) -> list[Subscription]:
    async def drop_cached_pages(envelope: Envelope, uow: UnitOfWork) -> None:
        # The change is already committed (the event is published after commit), so it is safe to drop
        # cached pages now.
        await queries.invalidate()

    async def stock_level_changed(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(uow, CatalogUnitOfWork)
        payload = envelope.payload
        # Staged: the batch's levels are written together when the consumer commits it.
        uow.stage_level(
            str(payload["sku"]), int(payload["available"]), int(payload["version"]), queries.invalidate
        )

    async def stock_levels_imported(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(uow, CatalogUnitOfWork)
        if await record_imported_levels(envelope.payload["levels"], uow):
            uow.after_commit(queries.invalidate)

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
            handlers={
                STOCK_LEVEL_CHANGED: stock_level_changed,
                STOCK_LEVELS_IMPORTED: stock_levels_imported,
            },
        ),
    ]
