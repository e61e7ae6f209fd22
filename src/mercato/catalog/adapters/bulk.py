"""The catalog's bulk writes and reads: staging tables filled by COPY, set-based upserts by slug and SKU.

Runs on a connection (and transaction) the caller opened: the import commits the catalog's rows with
the inventory's and both contexts' outbox rows, or nothing. Statements here touch `catalog` only.

Upserts skip what is already as the file says (an anti-join before the INSERT, not only a WHERE on
the conflict), so re-importing a file writes no row, locks no row and emits no event. Variants whose
SKU does not exist yet (all of a first import's) are not staged: nothing to compare or check, they are
COPYed straight into `catalog.variants` once their products are written; one that a concurrent
writer creates first fails the import as a whole (nothing written; run it again).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# One import at a time: two imports upserting overlapping rows in different orders could deadlock.
IMPORT_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('mercato.catalog.import'))")

_STAGE = (
    "CREATE TEMP TABLE import_products (id uuid NOT NULL, slug text NOT NULL, name text NOT NULL, "
    "description text NOT NULL, category_id uuid, attributes text NOT NULL, media text NOT NULL, "
    "published boolean NOT NULL, min_price_amount bigint, max_price_amount bigint, currency text, "
    "existing boolean NOT NULL DEFAULT false) ON COMMIT DROP",
    "CREATE TEMP TABLE import_variants (product_slug text NOT NULL, sku text NOT NULL, "
    "attributes text NOT NULL, price_amount bigint NOT NULL, currency text NOT NULL, "
    "position integer NOT NULL) ON COMMIT DROP",
)
_INDEX_STAGE = (
    "CREATE UNIQUE INDEX ON import_products (slug)",
    "CREATE UNIQUE INDEX ON import_variants (sku)",
    # Statistics of the columns the joins use only (the JSON text columns are most of ANALYZE's work).
    "ANALYZE import_products (slug, id, existing)",
    "ANALYZE import_variants (sku, product_slug)",
    "UPDATE import_products i SET id = p.id, existing = true FROM catalog.products p WHERE p.slug = i.slug",
)
PRODUCT_COLUMNS = (
    "id",
    "slug",
    "name",
    "description",
    "category_id",
    "attributes",
    "media",
    "published",
    "min_price_amount",
    "max_price_amount",
    "currency",
)
VARIANT_COLUMNS = ("product_slug", "sku", "attributes", "price_amount", "currency", "position")
# The ids of new variants are the column's default (gen_random_uuid(), migration catalog_0002).
NEW_VARIANT_COLUMNS = ("product_id", "sku", "attributes", "price_amount", "currency", "position")
_KNOWN_SKUS = text("SELECT sku FROM catalog.variants WHERE sku = ANY(CAST(:skus AS text[]))")
_STAGED_IDS = text("SELECT slug, id FROM import_products")

# SKUs of the file that belong to another product: a variant never moves between products.
_FOREIGN_SKUS = text(
    "SELECT iv.sku, iv.product_slug, p.slug AS owner FROM import_variants iv "
    "JOIN catalog.variants v ON v.sku = iv.sku JOIN catalog.products p ON p.id = v.product_id "
    "WHERE p.slug <> iv.product_slug ORDER BY iv.sku"
)
# Variants the file does not mention stay; they must share the file's currency (one per product).
_KEPT_VARIANTS = (
    "FROM catalog.variants v JOIN import_products i ON i.id = v.product_id AND i.existing "
    "WHERE NOT EXISTS (SELECT 1 FROM import_variants iv WHERE iv.sku = v.sku)"
)
_CURRENCY_CONFLICTS = text(
    f"SELECT DISTINCT i.slug, v.currency AS kept, i.currency {_KEPT_VARIANTS} "
    "AND i.currency IS NOT NULL AND v.currency <> i.currency ORDER BY i.slug"
)
# The cheapest and dearest prices count the variants the product keeps (least/greatest skip NULLs).
_KEPT_PRICES = text(
    "UPDATE import_products t SET min_price_amount = least(t.min_price_amount, k.low), "
    "max_price_amount = greatest(t.max_price_amount, k.high), currency = coalesce(t.currency, k.currency) "
    "FROM (SELECT v.product_id, min(v.price_amount) AS low, max(v.price_amount) AS high, "
    f"min(v.currency) AS currency {_KEPT_VARIANTS} GROUP BY v.product_id) k WHERE k.product_id = t.id"
)
_PRODUCT_FIELDS = (
    "name",
    "description",
    "category_id",
    "attributes",
    "media",
    "published",
    "min_price_amount",
    "max_price_amount",
    "currency",
)
_STAGED_PRODUCT = (
    "i.name, i.description, i.category_id, CAST(i.attributes AS jsonb), CAST(i.media AS jsonb), "
    "i.published, coalesce(i.min_price_amount, 0), coalesce(i.max_price_amount, 0), i.currency"
)
_UPSERT_PRODUCTS = text(
    "INSERT INTO catalog.products AS p (id, slug, name, description, category_id, attributes, media, "
    "published, min_price_amount, max_price_amount, currency, version) "
    f"SELECT i.id, i.slug, {_STAGED_PRODUCT}, 0 "
    "FROM import_products i LEFT JOIN catalog.products o ON o.slug = i.slug "
    f"WHERE o.id IS NULL OR ({', '.join(f'o.{c}' for c in _PRODUCT_FIELDS)}) "
    f"IS DISTINCT FROM ({_STAGED_PRODUCT}) ORDER BY i.slug "
    "ON CONFLICT (slug) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _PRODUCT_FIELDS)
    + ", version = p.version + 1, updated_at = now() RETURNING p.id, p.version = 0 AS created"
)
_STAGED_VARIANT = "CAST(iv.attributes AS jsonb), iv.price_amount, iv.currency, iv.position"
# Variants that exist and differ from the file, updated in SKU order (the lock order); each product
# written to comes back once, with how many variants.
_UPDATE_VARIANTS = text(
    f"WITH u AS (INSERT INTO catalog.variants AS v ({', '.join(NEW_VARIANT_COLUMNS)}) "
    f"SELECT o.product_id, iv.sku, {_STAGED_VARIANT} FROM import_variants iv "
    "JOIN catalog.variants o ON o.sku = iv.sku "
    "WHERE (o.attributes, o.price_amount, o.currency, o.position) "
    f"IS DISTINCT FROM ({_STAGED_VARIANT}) ORDER BY iv.sku "
    "ON CONFLICT (sku) DO UPDATE SET attributes = excluded.attributes, price_amount = excluded.price_amount, "
    "currency = excluded.currency, position = excluded.position RETURNING v.product_id) "
    "SELECT product_id, count(*) AS n FROM u GROUP BY product_id"
)
# A product whose row the file left as it was but whose variants it changed is a new version too.
_BUMP = text(
    "UPDATE catalog.products SET version = version + 1, updated_at = now() "
    "WHERE id = ANY(CAST(:ids AS uuid[]))"
)


@dataclass(frozen=True)
class Upserted:
    created: list[uuid.UUID]
    updated: list[uuid.UUID]
    variants: int


class CatalogBulk:
    # The tables an import writes many rows of: their planner statistics go stale with it.
    WRITTEN = ("catalog.products", "catalog.variants")
    # After the import's commit: the search index's pending entries (GIN `fastupdate`: new rows wait
    # in a list until autovacuum merges them) merged now. Until then every search reads that whole
    # list, and the planner, counting it, scans every product rather than use the index to find a
    # search's matches (catalog/service_layer/listing_sql.py). Only when this role owns the table (the
    # function refuses others).
    AFTER_IMPORT = (
        "SELECT gin_clean_pending_list(x.indexrelid) FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid "
        "WHERE x.indexrelid = CAST('catalog.products_search_idx' AS regclass) "
        "AND pg_has_role(t.relowner, 'USAGE')",
    )

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.new_variants: list[tuple[Any, ...]] = []  # `VARIANT_COLUMNS` of SKUs not in the catalog

    async def lock(self) -> None:
        await self.conn.execute(IMPORT_LOCK)
        # The import sorts 100k's of staged rows (upserts in lock order, levels per SKU): in memory,
        # not in temporary files (the default 4 MB spills them).
        await self.conn.execute(text("SET LOCAL work_mem = '64MB'"))

    async def categories(self) -> dict[str, tuple[uuid.UUID, str]]:
        """Every category: slug -> (id, path). A catalog has hundreds, not millions."""
        rows = await self.conn.execute(text("SELECT slug, id, path FROM catalog.categories"))
        return {r.slug: (r.id, r.path) for r in rows}

    async def stage(self, products: Sequence[tuple[Any, ...]], variants: Sequence[tuple[Any, ...]]) -> None:
        """COPY the file's products (`PRODUCT_COLUMNS`) and the variants (`VARIANT_COLUMNS`) whose SKU
        exists into temporary tables dropped at commit, and resolve the ids of products that exist.
        Variants of new SKUs wait for `upsert`."""
        for statement in _STAGE:
            await self.conn.execute(text(statement))
        raw = (await self.conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.copy_records_to_table("import_products", records=products, columns=PRODUCT_COLUMNS)
        known = set((await self.conn.execute(_KNOWN_SKUS, {"skus": [v[1] for v in variants]})).scalars())
        self.new_variants = [v for v in variants if v[1] not in known]
        staged = [v for v in variants if v[1] in known] if known else []
        await raw.copy_records_to_table("import_variants", records=staged, columns=VARIANT_COLUMNS)
        for statement in _INDEX_STAGE:
            await self.conn.execute(text(statement))

    async def conflicts(self) -> list[tuple[str, str]]:
        """(slug or SKU, reason) for every staged row the database's state refuses."""
        found = [
            (r.sku, f"SKU belongs to product {r.owner!r}, not {r.product_slug!r}")
            for r in await self.conn.execute(_FOREIGN_SKUS)
        ]
        found += [
            (r.slug, f"priced in {r.currency} but its variants not in the file are in {r.kept}")
            for r in await self.conn.execute(_CURRENCY_CONFLICTS)
        ]
        return found

    async def upsert(self) -> Upserted:
        await self.conn.execute(_KEPT_PRICES)
        rows = (await self.conn.execute(_UPSERT_PRODUCTS)).all()
        created = [r.id for r in rows if r.created]
        updated = [r.id for r in rows if not r.created]
        touched = {r.product_id: int(r.n) for r in await self.conn.execute(_UPDATE_VARIANTS)}
        for product_id, n in Counter(await self._insert_new_variants()).items():
            touched[product_id] = touched.get(product_id, 0) + n
        written = {*created, *updated}
        bumped = sorted(pid for pid in touched if pid not in written)
        if bumped:
            await self.conn.execute(_BUMP, {"ids": bumped})
        return Upserted(created, updated + bumped, sum(touched.values()))

    async def _insert_new_variants(self) -> list[uuid.UUID]:
        """COPY the variants of new SKUs into `catalog.variants`; returns their products' ids."""
        if not self.new_variants:
            return []
        ids = {r.slug: r.id for r in await self.conn.execute(_STAGED_IDS)}
        rows = [
            (ids[slug], sku, attributes, amount, currency, position)
            for slug, sku, attributes, amount, currency, position in self.new_variants
        ]
        raw = (await self.conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.copy_records_to_table(
            "variants", schema_name="catalog", records=rows, columns=NEW_VARIANT_COLUMNS
        )
        return [row[0] for row in rows]

    # -- export -----------------------------------------------------------------------------------

    async def export_categories(self) -> list[Any]:
        """Every category with its parent's slug, parents before children."""
        return list(
            (
                await self.conn.execute(
                    text(
                        "SELECT c.slug, c.name, p.slug AS parent, c.position, c.path "
                        "FROM catalog.categories c LEFT JOIN catalog.categories p ON p.id = c.parent_id "
                        "ORDER BY length(c.path) - length(replace(c.path, '/', '')), c.position, c.slug"
                    )
                )
            ).all()
        )

    async def export_products(self, after: str, limit: int) -> list[Any]:
        """Up to `limit` products after slug `after`, in slug order, each with its variants
        (a JSON array in position order) and its category's slug."""
        return list(
            (
                await self.conn.execute(
                    text(
                        "SELECT p.slug, p.name, p.description, c.slug AS category, p.attributes, p.media, "
                        "p.published, coalesce((SELECT json_agg(json_build_object('sku', v.sku, "
                        "'attributes', v.attributes, 'price_amount', v.price_amount, 'currency', v.currency) "
                        "ORDER BY v.position, v.sku) FROM catalog.variants v WHERE v.product_id = p.id), "
                        "CAST('[]' AS json)) AS variants FROM catalog.products p "
                        "LEFT JOIN catalog.categories c ON c.id = p.category_id "
                        "WHERE p.slug > :after ORDER BY p.slug LIMIT :limit"
                    ),
                    {"after": after, "limit": limit},
                )
            ).all()
        )
