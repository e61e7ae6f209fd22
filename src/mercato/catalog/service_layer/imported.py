"""The catalog's side of a bulk import's events: many SKUs' availability in one statement."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text

from mercato.catalog.service_layer.unit_of_work import CatalogUnitOfWork

# `record_availability` for a batch: keep the highest version per SKU; count the SKUs whose stored
# availability flipped between in and out of stock (no row yet counts as out of stock).
_RECORD_LEVELS = text(
    "WITH n AS (SELECT * FROM unnest(CAST(:skus AS text[]), CAST(:available AS integer[]), "
    "CAST(:versions AS bigint[])) AS n(sku, available, version)), "
    "old AS (SELECT a.sku, a.available FROM catalog.sku_availability a JOIN n ON n.sku = a.sku), "
    "w AS (INSERT INTO catalog.sku_availability AS a (sku, available, version) "
    "SELECT sku, greatest(available, 0), version FROM n ORDER BY sku "
    "ON CONFLICT (sku) DO UPDATE SET available = excluded.available, version = excluded.version, "
    "updated_at = now() WHERE a.version < excluded.version RETURNING a.sku, a.available) "
    "SELECT count(*) FROM w LEFT JOIN old ON old.sku = w.sku "
    "WHERE (coalesce(old.available, 0) > 0) <> (w.available > 0)"
)


async def record_imported_levels(levels: Sequence[dict[str, object]], uow: CatalogUnitOfWork) -> int:
    """Apply a `stock_levels_imported` batch inside the caller's transaction (a consumer's); returns
    how many SKUs flipped between in and out of stock. Stale entries (a newer version is stored) are
    left alone, as `record_availability` does for one SKU."""
    if not levels:
        return 0
    flipped = await uow.conn.scalar(
        _RECORD_LEVELS,
        {
            "skus": [str(level["sku"]) for level in levels],
            "available": [int(str(level["available"])) for level in levels],
            "versions": [int(str(level["version"])) for level in levels],
        },
    )
    return int(flipped or 0)
