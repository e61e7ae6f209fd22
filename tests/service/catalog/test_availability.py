"""The catalog's availability read model (the `inStock` filter) is fed by the inventory's flips only:
a level change that stays on one side of zero is not even claimed in the inbox, and the flips,
delivered in any order and any number of times, leave the right in/out state."""

from __future__ import annotations

import uuid

from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.entrypoints.consumers import AVAILABILITY_FLIPPED, STOCK_LEVELS_IMPORTED
from mercato.catalog.service_layer.listing import ListingRequest, ProductFilter
from mercato.inventory import (
    AdjustStock,
    CommitReservation,
    CreateWarehouse,
    ReleaseReservation,
    ReserveStock,
)
from mercato.inventory.bootstrap import InventoryService, build_inventory
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.events import Envelope
from mercato.platform.inbox import Subscription
from tests.conftest import ref
from tests.service.catalog.builders import a_category, a_product
from tests.service.inventory.conftest import outbox


def availability(catalog: CatalogService) -> Subscription:
    [subscription] = [s for s in catalog.subscriptions() if s.name == "availability"]
    return subscription


async def deliver(catalog: CatalogService, envelopes: list[Envelope]) -> None:
    """Each envelope as the consumer hands it over: its handler if the subscription has one for its
    type (an inbox row and the handler in one transaction), else acknowledged untouched."""
    subscription = availability(catalog)
    for envelope in envelopes:
        handler = subscription.handlers.get(envelope.type)
        if handler is None:
            continue
        async with catalog.uow() as uow:
            await handler(envelope, uow)
            await uow.commit()


async def in_stock(catalog: CatalogService, category: uuid.UUID) -> set[uuid.UUID]:
    page = await catalog.queries.list_products(
        ListingRequest(first=100, filter=ProductFilter(category_id=category, in_stock=True))
    )
    return {p.id for p in page.items}


async def test_the_catalog_handles_flips_and_not_level_changes(uncached_catalog: CatalogService) -> None:
    # (and a bulk import's batches of levels: tests/service/test_bulk_import.py)
    assert set(availability(uncached_catalog).handlers) == {AVAILABILITY_FLIPPED, STOCK_LEVELS_IMPORTED}
    assert AVAILABILITY_FLIPPED == "inventory.availability_flipped"
    assert STOCK_LEVELS_IMPORTED == "inventory.stock_levels_imported"


async def test_flips_in_any_order_and_repeated_land_on_the_inventorys_state(
    uncached_catalog: CatalogService, db: Database, settings: Settings
) -> None:
    catalog = uncached_catalog
    inventory: InventoryService = build_inventory(db, settings)
    warehouse = await inventory.handle(CreateWarehouse(code=ref("wh"), name="Main"))
    category = await a_category(catalog)
    product, [sku] = await a_product(catalog, category_id=category)

    async def stock_up(units: int) -> None:
        await inventory.handle(
            AdjustStock(sku=sku, warehouse_id=warehouse.id, reason="RECEIVED", actor="t", delta=units)
        )

    # in (2), 1, out (0), in (1), 0 committed: out, in (3)
    await stock_up(2)
    first = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 1)]))
    second = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 1)]))
    await inventory.handle(ReleaseReservation(second.id, "CANCELLED"))
    third = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 1)]))
    await inventory.handle(CommitReservation(first.id))
    await inventory.handle(CommitReservation(third.id))
    levels = await outbox(db, "inventory.stock_level_changed", sku)
    flips = await outbox(db, "inventory.availability_flipped", sku)
    assert [e.payload["in_stock"] for e in flips] == [True, False, True, False]
    # Level events are ignored: alone, they leave the SKU out of stock (no row yet).
    await deliver(catalog, levels)
    assert await in_stock(catalog, category) == set()
    # Newest first, then everything again: the newest flip (out of stock) wins.
    await deliver(catalog, [*reversed(flips), *flips])
    assert await in_stock(catalog, category) == set()
    await stock_up(3)
    newest = (await outbox(db, "inventory.availability_flipped", sku))[-1]
    assert newest.payload["in_stock"] is True
    await deliver(catalog, [newest, *flips])
    assert await in_stock(catalog, category) == {product}
