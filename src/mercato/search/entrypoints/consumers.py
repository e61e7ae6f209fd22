"""Event consumers of search: the catalog's product events, inventory's availability flips and the
orders' confirmations.

Catalog events name a product (their aggregate id); the handler re-reads the product from the
catalog and rewrites its document, so a duplicate or late event rewrites the same state (idempotent,
order-free). The inbox makes a redelivered event a no-op anyway, which the purchase counts rely on:
an order's confirmation adds one to each pair of its products, in the transaction of its inbox row.

Every change is measured: the time from the event's occurrence to the commit of the index change
(`mercato_search_index_lag_seconds`, by event type).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from mercato.platform.business_metrics import search_index_lag
from mercato.platform.events import Envelope
from mercato.platform.inbox import Handler, Subscription
from mercato.platform.unit_of_work import UnitOfWork
from mercato.search.domain.commands import RecordPurchase
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
# What `boughtTogether` counts (a published contract of the orders, docs/events.md).
ORDER_CONFIRMED = "orders.order_confirmed"

log = logging.getLogger(__name__)

HandleIn = Callable[[Any, UnitOfWork], Awaitable[Any]]


def _has_pairs(envelope: Envelope) -> bool:
    """Whether a confirmed order can count a pair: one of a single SKU (one product at most) cannot,
    so it costs no transaction at all (most orders hold one line)."""
    lines = envelope.payload.get("lines")
    if not isinstance(lines, list):
        return True  # malformed: the handler says so
    return len({str(line.get("sku")) if isinstance(line, dict) else "" for line in lines}) >= 2


def lag_after_commit(uow: UnitOfWork, envelope: Envelope) -> None:
    """Observe, once `uow` commits, how long after its event the index changed."""

    async def observe() -> None:
        lag = (datetime.now(UTC) - envelope.occurred_at).total_seconds()
        search_index_lag.labels(envelope.type).observe(max(0.0, lag))  # clocks of two hosts may differ

    uow.after_commit(observe)


def subscriptions(
    catalog: CatalogPort,
    semantic: Semantic | None = None,
    on_index_change: Callable[[], Awaitable[None]] | None = None,
    handle_in: HandleIn | None = None,
) -> list[Subscription]:
    """`on_index_change` runs after a commit that changed the index: cached search answers (the
    gateway's response cache) must not outlive the index state they were computed on. `handle_in`
    (`SearchService.handle_in`) runs a command in the consumer's unit of work; without it the
    orders are not consumed."""

    def changed(uow: UnitOfWork, envelope: Envelope) -> None:
        lag_after_commit(uow, envelope)
        if on_index_change is not None:
            uow.after_commit(on_index_change)

    async def product_changed(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(uow, SearchUnitOfWork)
        await refresh_products([uuid.UUID(envelope.aggregate_id)], uow, catalog, semantic)
        changed(uow, envelope)

    async def availability_flipped(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(uow, SearchUnitOfWork)
        payload = envelope.payload
        await uow.index.record_availability(
            str(payload["sku"]), int(payload["available"]), int(payload["version"])
        )
        changed(uow, envelope)

    async def products_imported(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(uow, SearchUnitOfWork)
        payload = envelope.payload
        ids = [uuid.UUID(str(i)) for i in [*payload.get("created", []), *payload.get("updated", [])]]
        if ids:
            await refresh_products(ids, uow, catalog, semantic)
            changed(uow, envelope)

    async def stock_levels_imported(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(uow, SearchUnitOfWork)
        levels = [(str(e["sku"]), int(e["available"]), int(e["version"])) for e in envelope.payload["levels"]]
        await uow.index.record_availabilities(levels)
        changed(uow, envelope)

    async def order_confirmed(envelope: Envelope, uow: UnitOfWork) -> None:
        assert handle_in is not None
        try:
            order_id = uuid.UUID(str(envelope.payload["order_id"]))
            skus = tuple(str(line["sku"]) for line in envelope.payload.get("lines") or ())
        except (KeyError, TypeError, ValueError):
            log.warning("order_confirmed %s without an order id or lines: nothing counted", envelope.id)
            return
        # No cache drop: a cached response's `boughtTogether` may lag by the cache TTL, where dropping
        # every cached page at each order would cost the storefront its cache (docs/search.md).
        await handle_in(RecordPurchase(order_id=order_id, skus=skus), uow)
        lag_after_commit(uow, envelope)

    product_handlers: dict[str, Handler] = dict.fromkeys(PRODUCT_EVENTS, product_changed)
    product_handlers[PRODUCTS_IMPORTED] = products_imported
    orders = (
        []
        if handle_in is None
        else [
            Subscription(
                name="orders",
                source_context="orders",
                handlers={ORDER_CONFIRMED: order_confirmed},
                wants=_has_pairs,
            )
        ]
    )
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
        *orders,
    ]
