"""Rebuilding the catalog's availability read model from the inventory's current levels
(`mercato catalog rebuild-availability`): after a lost or damaged table, or an upgrade of the catalog
whose consumer did not read every level event.

It reads the inventory a page of SKUs at a time and writes each page into the catalog in one statement
and one transaction, keeping the event consumers' rule: a stored level newer than the one read (an
event applied after the read) stays; one as old or older is replaced. Consumers keep running
meanwhile, so the read model is never emptied and no level moves backwards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mercato.catalog.service_layer.imported import restore_levels
from mercato.catalog.service_layer.queries import CatalogQueries
from mercato.catalog.service_layer.unit_of_work import CatalogUnitOfWork
from mercato.inventory.service_layer.queries import InventoryQueries

PAGE = 1_000


@dataclass(frozen=True)
class AvailabilityRebuild:
    skus: int  # SKUs read from the inventory and written (or found newer) in the catalog
    flipped: int  # of them, how many changed between in and out of stock


async def rebuild_availability(
    inventory: InventoryQueries,
    catalog_uow: Callable[[], CatalogUnitOfWork],
    catalog: CatalogQueries,
    progress: Callable[[int], None] | None = None,
) -> AvailabilityRebuild:
    skus = flipped = 0
    after = ""
    while page := await inventory.sku_levels(after, PAGE):
        levels = [{"sku": lv.sku, "available": lv.available, "version": lv.version} for lv in page]
        async with catalog_uow() as uow:
            flipped += await restore_levels(levels, uow)
            await uow.commit()
        skus += len(page)
        after = page[-1].sku
        if progress is not None:
            progress(skus)
    if flipped:
        # Cached pages filtered on `inStock` may list the wrong products now.
        await catalog.invalidate()
    return AvailabilityRebuild(skus=skus, flipped=flipped)
