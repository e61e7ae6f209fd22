"""The catalog's availability read model (`quantityAvailable`, `inStock`, the `inStock` filter) is fed
by the inventory's level events: delivered in any order and any number of times, they leave each SKU
at the inventory's newest level (an older event never overwrites a newer one); a listing reads the
levels of its page with the page; a flip is not handled (it repeats its level change's version)."""

from __future__ import annotations

import random
import uuid

from redis.asyncio import Redis
from sqlalchemy import text

from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.entrypoints.consumers import STOCK_LEVEL_CHANGED, STOCK_LEVELS_IMPORTED
from mercato.catalog.service_layer.listing import ListingRequest, ProductFilter
from mercato.inventory import (
    AdjustStock,
    CommitReservation,
    CreateWarehouse,
    ReleaseReservation,
    ReserveStock,
)
from mercato.inventory.bootstrap import InventoryService, build_inventory
from mercato.platform.cache import Cache
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
    type (in one transaction), else acknowledged untouched."""
    subscription = availability(catalog)
    for envelope in envelopes:
        handler = subscription.handlers.get(envelope.type)
        if handler is None:
            continue
        async with catalog.uow() as uow:
            await handler(envelope, uow)
            await uow.commit()


async def stored(db: Database, sku: str) -> tuple[int, int] | None:
    async with db.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT available, version FROM catalog.sku_availability WHERE sku = :s"), {"s": sku}
            )
        ).first()
    return (row.available, row.version) if row is not None else None


async def in_stock(catalog: CatalogService, category: uuid.UUID) -> set[uuid.UUID]:
    page = await catalog.queries.list_products(
        ListingRequest(first=100, filter=ProductFilter(category_id=category, in_stock=True))
    )
    return {p.id for p in page.items}


async def a_stocked_sku(
    catalog: CatalogService, inventory: InventoryService
) -> tuple[uuid.UUID, uuid.UUID, str, uuid.UUID]:
    """A product of one variant in a category of its own, and a warehouse: (category, product, sku,
    warehouse)."""
    warehouse = await inventory.handle(CreateWarehouse(code=ref("wh"), name="Main"))
    category = await a_category(catalog)
    product, [sku] = await a_product(catalog, category_id=category)
    return category, product, sku, warehouse.id


async def test_the_catalog_handles_level_changes_and_imports_and_not_flips(
    uncached_catalog: CatalogService,
) -> None:
    assert set(availability(uncached_catalog).handlers) == {STOCK_LEVEL_CHANGED, STOCK_LEVELS_IMPORTED}
    assert STOCK_LEVEL_CHANGED == "inventory.stock_level_changed"
    assert STOCK_LEVELS_IMPORTED == "inventory.stock_levels_imported"


async def test_levels_in_any_order_and_repeated_land_on_the_inventorys_newest_level(
    uncached_catalog: CatalogService, db: Database, settings: Settings
) -> None:
    # Given a SKU moved by stock, reservations, a release and sales: 2, 1, 0, 1, 0 … then 3 units
    catalog = uncached_catalog
    inventory: InventoryService = build_inventory(db, settings)
    category, product, sku, warehouse = await a_stocked_sku(catalog, inventory)

    async def stock_up(units: int) -> None:
        await inventory.handle(
            AdjustStock(sku=sku, warehouse_id=warehouse, reason="RECEIVED", actor="t", delta=units)
        )

    await stock_up(2)
    first = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 1)]))
    second = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 1)]))
    await inventory.handle(ReleaseReservation(second.id, "CANCELLED"))
    third = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 1)]))
    await inventory.handle(CommitReservation(first.id))
    await inventory.handle(CommitReservation(third.id))
    levels = await outbox(db, "inventory.stock_level_changed", sku)
    flips = await outbox(db, "inventory.availability_flipped", sku)
    assert [e.payload["available"] for e in levels] == [2, 1, 0, 1, 0]

    # When the flips alone arrive: nothing (a flip has no handler)
    await deliver(catalog, flips)
    assert await stored(db, sku) is None

    # When the levels arrive newest first, then all again shuffled with duplicates (redelivery)
    shuffled = [*levels, *levels]
    random.Random(9).shuffle(shuffled)
    await deliver(catalog, [*reversed(levels), *shuffled])

    # Then the newest level is stored, with its version: out of stock
    assert await stored(db, sku) == (0, levels[-1].payload["version"])
    assert await catalog.queries.availability([sku]) == {sku: 0}
    assert await in_stock(catalog, category) == set()

    # When 3 units arrive and their level is delivered, then an older one again
    await stock_up(3)
    newest = (await outbox(db, "inventory.stock_level_changed", sku))[-1]
    await deliver(catalog, [newest, levels[0]])

    # Then the catalog says what the inventory says
    assert (
        await catalog.queries.availability([sku]) == {sku: 3} == await inventory.queries.availability([sku])
    )
    assert await stored(db, sku) == (3, newest.payload["version"])
    assert await in_stock(catalog, category) == {product}


async def test_a_batch_of_level_events_costs_one_write(
    uncached_catalog: CatalogService, db: Database, settings: Settings
) -> None:
    # Given several level events of two SKUs, as one fetch of the consumer brings them
    catalog = uncached_catalog
    inventory: InventoryService = build_inventory(db, settings)
    _category, _product, sku, warehouse = await a_stocked_sku(catalog, inventory)
    _other, [other_sku] = await a_product(catalog)
    for target in (sku, other_sku, sku):
        await inventory.handle(
            AdjustStock(sku=target, warehouse_id=warehouse, reason="RECEIVED", actor="t", delta=2)
        )
    events = [
        *await outbox(db, "inventory.stock_level_changed", sku),
        *await outbox(db, "inventory.stock_level_changed", other_sku),
    ]
    assert len(events) == 3
    handler = availability(catalog).handlers[STOCK_LEVEL_CHANGED]

    # When their handlers run in one unit of work (the consumer's batch), oldest last
    with db.count_statements() as counter:
        async with catalog.uow() as uow:
            for envelope in sorted(events, key=lambda e: -int(e.payload["version"])):
                await handler(envelope, uow)
            await uow.commit()

    # Then one statement writes the newest level of each SKU
    assert (counter.count, counter.commits) == (1, 1)
    assert await catalog.queries.availability([sku, other_sku]) == {sku: 4, other_sku: 2}


async def test_a_listing_reads_its_pages_levels_in_the_statement_that_loads_its_variants(
    uncached_catalog: CatalogService, db: Database, settings: Settings
) -> None:
    # Given products of a category, one with a level in the read model, one without a row
    catalog = uncached_catalog
    inventory: InventoryService = build_inventory(db, settings)
    category, _product, sku, warehouse = await a_stocked_sku(catalog, inventory)
    _other, [other_sku] = await a_product(catalog, category_id=category)
    await inventory.handle(
        AdjustStock(sku=sku, warehouse_id=warehouse, reason="RECEIVED", actor="t", delta=4)
    )
    await deliver(catalog, await outbox(db, "inventory.stock_level_changed", sku))
    request = ListingRequest(first=1, filter=ProductFilter(category_id=category))

    # When a page of one product (of two) is listed with and without availability
    with db.count_statements() as counter:
        page = await catalog.queries.list_products(request, availability=True)
    plain = await catalog.queries.list_products(request)

    # Then the levels come with the page, for its own SKUs only, in the statement that reads it
    assert counter.count == 1
    assert page.has_next_page is True
    [shown] = page.items[0].variants
    assert page.available == {shown.sku: {sku: 4, other_sku: 0}[shown.sku]}
    assert plain.available is None
    assert plain.items == page.items


async def test_a_cached_page_gets_its_levels_in_one_statement_and_never_caches_them(
    db: Database, redis: Redis, namespace: str, settings: Settings
) -> None:
    # Given a page in the catalog's cache, its SKU at 6 units
    catalog = CatalogService(db, Cache(redis, namespace), namespace)
    inventory: InventoryService = build_inventory(db, settings)
    category, _product, sku, warehouse = await a_stocked_sku(catalog, inventory)
    await inventory.handle(
        AdjustStock(sku=sku, warehouse_id=warehouse, reason="RECEIVED", actor="t", delta=6)
    )
    await deliver(catalog, await outbox(db, "inventory.stock_level_changed", sku))
    request = ListingRequest(first=5, filter=ProductFilter(category_id=category))
    assert (await catalog.queries.list_products(request, availability=True)).available == {sku: 6}

    # When a sale reserves 2 (no flip: cached pages stay) and the page is listed again
    await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 2)]))
    await deliver(catalog, await outbox(db, "inventory.stock_level_changed", sku))
    with db.count_statements() as counter:
        page = await catalog.queries.list_products(request, availability=True)

    # Then the page comes from the cache and its levels from one lookup: the new level
    assert counter.count == 1
    assert page.available == {sku: 4}
