"""Event consumers of search: the catalog's product events and inventory's availability flips.

Catalog events name a product (their aggregate id); the handler re-reads the product from the
catalog and rewrites its document, so a duplicate or late event rewrites the same state (idempotent,
order-free). The inbox makes a redelivered event a no-op anyway.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from mercato.platform.events import Envelope
from mercato.platform.inbox import Handler, Subscription
from mercato.platform.unit_of_work import UnitOfWork
from mercato.search.service_layer.indexing import refresh_products
from mercato.search.service_layer.ports import CatalogPort
from mercato.search.service_layer.semantic import Semantic
from mercato.search.service_layer.unit_of_work import SearchUnitOfWork

# Catalog events after which a product's document may differ (names as `<context>.<event>`).
PRODUCT_EVENTS = (
    "catalog.product_created",
    "catalog.product_updated",
    "catalog.product_published",
    "catalog.product_deleted",
    "catalog.variant_created",
    "catalog.variant_updated",
    "catalog.variant_price_changed",
)
AVAILABILITY_FLIPPED = "inventory.availability_flipped"
# A bulk import's batches: products by id (re-read as one event would), levels per SKU.
PRODUCTS_IMPORTED = "catalog.products_imported"
STOCK_LEVELS_IMPORTED = "inventory.stock_levels_imported"


def subscriptions(
    catalog: CatalogPort,
    semantic: Semantic | None = None,
    on_index_change: Callable[[], Awaitable[None]] | None = None,
) -> list[Subscription]:
    """`on_index_change` runs after a commit that changed the index: cached search answers (the
    gateway's response cache) must not outlive the index state they were computed on."""

    def changed(uow: UnitOfWork) -> None:
        if on_index_change is not None:
            uow.after_commit(on_index_change)

    async def product_changed(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(uow, SearchUnitOfWork)
        await refresh_products([uuid.UUID(envelope.aggregate_id)], uow, catalog, semantic)
        changed(uow)

    async def availability_flipped(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(uow, SearchUnitOfWork)
        payload = envelope.payload
        await uow.index.record_availability(
            str(payload["sku"]), int(payload["available"]), int(payload["version"])
        )
        changed(uow)

    async def products_imported(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(uow, SearchUnitOfWork)
        payload = envelope.payload
        ids = [uuid.UUID(str(i)) for i in [*payload.get("created", []), *payload.get("updated", [])]]
        if ids:
            await refresh_products(ids, uow, catalog, semantic)
            changed(uow)

    async def stock_levels_imported(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(uow, SearchUnitOfWork)
        levels = [(str(e["sku"]), int(e["available"]), int(e["version"])) for e in envelope.payload["levels"]]
        await uow.index.record_availabilities(levels)
        changed(uow)

    product_handlers: dict[str, Handler] = dict.fromkeys(PRODUCT_EVENTS, product_changed)
    product_handlers[PRODUCTS_IMPORTED] = products_imported
    return [
        Subscription(name="products", source_context="catalog", handlers=product_handlers),
        Subscription(
            name="availability",
            source_context="inventory",
            handlers={
                AVAILABILITY_FLIPPED: availability_flipped,
                STOCK_LEVELS_IMPORTED: stock_levels_imported,
            },
        ),
    ]
