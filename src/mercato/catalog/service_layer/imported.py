"""Many SKUs' availability at once: a bulk import's events, and a rebuild of the read model from the
inventory's current levels (`mercato catalog rebuild-availability`)."""

from __future__ import annotations

from collections.abc import Sequence

from mercato.catalog.adapters.availability import upsert_levels
from mercato.catalog.service_layer.unit_of_work import CatalogUnitOfWork


def _levels(levels: Sequence[dict[str, object]]) -> list[tuple[str, int, int]]:
    return [(str(lv["sku"]), int(str(lv["available"])), int(str(lv["version"]))) for lv in levels]


async def record_imported_levels(levels: Sequence[dict[str, object]], uow: CatalogUnitOfWork) -> int:
    """Apply a `stock_levels_imported` batch inside the caller's transaction (a consumer's); returns
    how many SKUs flipped between in and out of stock. Stale entries (a newer version is stored) are
    left alone, as for a single level event."""
    return await upsert_levels(uow.conn, _levels(levels))


async def restore_levels(levels: Sequence[dict[str, object]], uow: CatalogUnitOfWork) -> int:
    """A page of a rebuild: each SKU's level as the inventory has it now (`sku`, `available`,
    `version`), in the caller's transaction; returns how many SKUs flipped between in and out of stock."""
    return await upsert_levels(uow.conn, _levels(levels), repair=True)
