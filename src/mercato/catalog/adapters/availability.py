"""The availability read model's writes: many SKUs' levels in one statement (`catalog.sku_availability`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.platform.sql import Sql

# Straight to asyncpg (`platform.sql`): the availability consumer writes a batch of levels at each commit.
# (sku, units available, version)
Level = tuple[str, int, int]


def _upsert_levels(newer: str) -> Sql:
    """Keep the highest version per SKU (`newer` compares the stored version with the given one); count
    the SKUs whose stored availability flipped between in and out of stock (no row yet counts as out
    of stock). Sorted by SKU: concurrent writers lock rows in one order."""
    return Sql(
        "WITH n AS (SELECT * FROM unnest(CAST(:skus AS text[]), CAST(:available AS integer[]), "
        "CAST(:versions AS bigint[])) AS n(sku, available, version)), "
        "old AS (SELECT a.sku, a.available FROM catalog.sku_availability a JOIN n ON n.sku = a.sku), "
        "w AS (INSERT INTO catalog.sku_availability AS a (sku, available, version) "
        "SELECT sku, greatest(available, 0), version FROM n ORDER BY sku "
        "ON CONFLICT (sku) DO UPDATE SET available = excluded.available, version = excluded.version, "
        f"updated_at = now() WHERE a.version {newer} excluded.version RETURNING a.sku, a.available) "
        "SELECT count(*) FROM w LEFT JOIN old ON old.sku = w.sku "
        "WHERE (coalesce(old.available, 0) > 0) <> (w.available > 0)"
    )


_NEWER = _upsert_levels("<")
# A rebuild also rewrites a row stored at the same version: a level read from the inventory is exact
# for its version, so this repairs a row whose units were lost or wrong, while a row that a newer
# event already moved past the read (a change committed after it) is left alone.
_AS_NEW = _upsert_levels("<=")


async def upsert_levels(conn: AsyncConnection, levels: Sequence[Level], *, repair: bool = False) -> int:
    """Write `levels` (one per SKU) unless a newer version of a SKU is stored (with `repair`, unless a
    newer or the same one is); returns how many SKUs flipped between in and out of stock."""
    if not levels:
        return 0
    row = await (_AS_NEW if repair else _NEWER).first(
        conn,
        {
            "skus": [sku for sku, _, _ in levels],
            "available": [available for _, available, _ in levels],
            "versions": [version for _, _, version in levels],
        },
    )
    return int(row[0]) if row is not None else 0
