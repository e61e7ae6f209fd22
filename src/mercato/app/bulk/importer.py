"""`mercato import`: a file's products, variants, categories, warehouses and stock in ONE transaction.

All or nothing, per file. Every record is checked with the domain's rules first (`validate.py`); then,
in one transaction over the catalog's and the inventory's schemas (Mercato keeps every context's schema
in one PostgreSQL database), the rows are COPYed into staging tables, checked against the database
(unknown category or warehouse, a SKU of another product, a count below the units reserved) and
upserted set-based, each context's statements in its own adapter (`catalog.adapters.bulk`,
`inventory.adapters.bulk`); rows proven new (SKUs the catalog or the stock lacks) skip the staging
and are COPYed straight into their tables. The events go into each context's outbox in that
transaction, in batches (`products_imported`, `stock_levels_imported`). If any row is refused,
nothing is written and every refused row is reported; a crash or a failed statement rolls everything
back. Importing the same file again writes nothing and emits nothing.

Why one transaction per file and not per batch: a half-imported catalog (products without their stock,
or the first half of a price change) is worse than a slower retry, and PostgreSQL holds a 100k-product
transaction easily. Row locks are the cost: the stock rows an import changes are locked from the
stock step to the commit (the last seconds of the run, not the whole run), and products it updates
from their upsert on; products and stock it leaves as they are are never locked. Imports run one at a
time (an advisory lock). Split a very large file to shorten those windows.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.app.bulk.records import ImportRecords, ImportSummary, Rejected, paused_gc
from mercato.app.bulk.validate import validate
from mercato.app.demo_data import ProductSpec
from mercato.catalog.adapters.bulk import CatalogBulk
from mercato.catalog.adapters.repository import CategoryRepository
from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.domain.events import IMPORT_EVENT_BATCH as PRODUCT_BATCH
from mercato.catalog.domain.events import ProductsImported
from mercato.catalog.domain.model import Category
from mercato.inventory.adapters.bulk import InventoryBulk, StockWritten
from mercato.inventory.adapters.repository import InventoryRepository
from mercato.inventory.bootstrap import InventoryService
from mercato.inventory.domain.events import IMPORT_EVENT_BATCH as LEVEL_BATCH
from mercato.inventory.domain.events import StockLevelsImported
from mercato.inventory.domain.model import Warehouse
from mercato.platform.errors import Conflict
from mercato.platform.events import DomainEvent
from mercato.platform.outbox import OutboxRow
from mercato.platform.unit_of_work import RelayHandoff

ACTOR = "import"
Progress = Callable[[str, int, int], None]  # (phase, done, total)


class _Refused(Exception):
    """Rows the database's state refuses: roll back and report them."""

    def __init__(self, rejected: list[Rejected]) -> None:
        self.rejected = rejected


async def import_records(
    catalog: CatalogService,
    inventory: InventoryService,
    records: ImportRecords,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Check and write `records`; a dry run does all the work and rolls it back."""
    with paused_gc():
        return await _import(catalog, inventory, records, dry_run=dry_run, progress=progress)


async def _import(
    catalog: CatalogService,
    inventory: InventoryService,
    records: ImportRecords,
    *,
    dry_run: bool,
    progress: Progress | None,
) -> ImportSummary:
    started = time.perf_counter()
    total = len(records.products)
    if catalog.db.url != inventory.db.url:
        raise RuntimeError(
            "mercato import writes the catalog and the inventory in one transaction: one database"
        )
    summary = ImportSummary(records.source, total, skipped=tuple(records.skipped), dry_run=dry_run)
    run = _Run(catalog, inventory, records, progress)
    try:
        async with catalog.db.connect() as conn, conn.begin() as transaction:
            summary = await run.write(conn, summary)
            await run.checks()
            if records.rejected:
                raise _Refused([])
            if dry_run:
                await transaction.rollback()
    except _Refused as refused:
        await run.checks()
        return _timed(_replace(summary, rejected=(*records.rejected, *refused.rejected)), started)
    except (IntegrityError, asyncpg.IntegrityConstraintViolationError) as exc:
        # Rows proven new are inserted without ON CONFLICT (by COPY on the driver's connection, hence
        # asyncpg's error as well as SQLAlchemy's): a writer outside the import (the API, another
        # process) that created one of their SKUs or slugs after the proof wins the race.
        await run.checks()
        if records.rejected:
            return _timed(_replace(summary, rejected=tuple(records.rejected)), started)
        raise Conflict(
            "the catalog changed while importing (another writer created one of the file's SKUs or "
            "products); nothing was written: run the import again"
        ) from exc
    except Exception:
        # A row the rules refuse (a NUL in a name, a negative price) may fail a statement before the
        # checks have named it: then the refusals are the answer, not the statement's error.
        await run.checks()
        if records.rejected:
            return _timed(_replace(summary, rejected=tuple(records.rejected)), started)
        raise
    if not dry_run:
        run.hand_off()
        if summary.products_created or summary.products_updated or summary.stock_rows_written:
            await _refresh_statistics(catalog)
    return _timed(summary, started)


async def _refresh_statistics(catalog: CatalogService) -> None:
    """ANALYZE what the import wrote. Autovacuum gets there, but minutes later on a big import, and
    until then the planner believes the tables as small as before: at 100k products the storefront's
    listings joined a page's variants by scanning all 1.2 million of them (0.7 s a page instead of
    under 1 ms; docs/benchmarks.md, 2026-12-07)."""
    async with catalog.db.connect() as conn:
        for statement in CatalogBulk.AFTER_IMPORT:
            await conn.execute(text(statement))
        for table in (*CatalogBulk.WRITTEN, *InventoryBulk.WRITTEN):
            await conn.execute(text(f"ANALYZE {table}"))
        await conn.commit()


def _timed(summary: ImportSummary, started: float) -> ImportSummary:
    return _replace(summary, seconds=time.perf_counter() - started)


def _replace(summary: ImportSummary, **changes: Any) -> ImportSummary:
    return replace(summary, **changes)


class _Run:
    def __init__(
        self,
        catalog: CatalogService,
        inventory: InventoryService,
        records: ImportRecords,
        progress: Progress | None,
    ) -> None:
        self.catalog = catalog
        self.inventory = inventory
        self.records = records
        self.progress = progress
        self.rejected: list[Rejected] = []
        self.catalog_rows: list[OutboxRow] = []
        self.inventory_rows: list[OutboxRow] = []
        self.checking: asyncio.Task[None] | None = None

    def start_checks(self) -> None:
        """The domain's checks (Python, one core) in a thread, while PostgreSQL stages and upserts (the
        other core). They start once the rows are staged: that is Python work too, and the database
        waits for it, not for the checks. All or nothing still holds: nothing commits before the
        checks are done (`checks`), and a row they refuse rolls everything back."""
        if self.checking is None:
            total = len(self.records.products)
            progress = self.progress
            report = None if progress is None else (lambda done: progress("checking", done, total))
            self.checking = asyncio.create_task(asyncio.to_thread(validate, self.records, report))

    async def checks(self) -> None:
        self.start_checks()
        assert self.checking is not None
        await self.checking

    def _step(self, phase: str, done: int) -> None:
        if self.progress is not None:
            self.progress(phase, done, len(self.records.products))

    async def write(self, conn: AsyncConnection, summary: ImportSummary) -> ImportSummary:
        catalog, inventory = CatalogBulk(conn), InventoryBulk(conn)
        await catalog.lock()
        catalog_events: list[DomainEvent] = []
        inventory_events: list[DomainEvent] = []
        warehouses = await self._warehouses(conn, inventory, inventory_events)
        categories = await self._categories(conn, catalog, catalog_events)
        self._step("staging", 0)
        products, variants, stock = self._staged(categories, warehouses)
        self.start_checks()
        if self.rejected:
            raise _Refused(self.rejected)
        await catalog.stage(products, variants)
        self.rejected += [Rejected("database", ref, reason) for ref, reason in await catalog.conflicts()]
        if self.rejected:
            raise _Refused(self.rejected)
        self._step("writing products", 0)
        upserted = await catalog.upsert()
        self._step("writing stock", len(self.records.products))
        below = await inventory.stage(stock)
        if below:
            raise _Refused([Rejected("database", sku, reason) for sku, reason in below])
        import_id = uuid.uuid4()
        written = await inventory.write(
            import_id=import_id,
            actor=ACTOR,
            note=f"mercato import {self.records.source}"[:2_000],
        )
        catalog_events += _product_events(str(import_id), upserted.created, upserted.updated)
        inventory_events += _level_events(str(import_id), written)
        self.catalog_rows = (
            await self.catalog.outbox.write(
                conn, catalog_events, publish_after=_grace(self.catalog.on_commit)
            )
            if catalog_events
            else []
        )
        self.inventory_rows = (
            await self.inventory.outbox.write(
                conn, inventory_events, publish_after=_grace(self.inventory.on_commit)
            )
            if inventory_events
            else []
        )
        return _replace(
            summary,
            warehouses_created=sum(1 for e in inventory_events if e.name == "warehouse_created"),
            categories_created=sum(1 for e in catalog_events if e.name == "category_created"),
            products_created=len(upserted.created),
            products_updated=len(upserted.updated),
            variants_written=upserted.variants,
            stock_rows_written=written.rows,
            events=len(catalog_events) + len(inventory_events),
        )

    def hand_off(self) -> None:
        """After commit: the relays of this process (if any) publish the events at once."""
        for handoff, rows in (
            (self.catalog.on_commit, self.catalog_rows),
            (self.inventory.on_commit, self.inventory_rows),
        ):
            if rows and isinstance(handoff, RelayHandoff):
                handoff.hand_off(rows)

    async def _warehouses(
        self, conn: AsyncConnection, bulk: InventoryBulk, events: list[DomainEvent]
    ) -> dict[str, uuid.UUID]:
        """Warehouses by code; those of the file that are missing are created (by the inventory's
        model and repository, on this transaction)."""
        known = await bulk.warehouses()
        repository = InventoryRepository(conn)
        for spec in self.records.warehouses:
            if spec.code not in known:
                warehouse = Warehouse.create(code=spec.code, name=spec.name)
                await repository.add_warehouse(warehouse)
                events.append(warehouse.created())
                known[spec.code] = warehouse.id
        return known

    async def _categories(
        self, conn: AsyncConnection, bulk: CatalogBulk, events: list[DomainEvent]
    ) -> dict[str, uuid.UUID]:
        """Categories by slug; missing ones of the file are created, parents first. Existing ones are
        left as they are (an import never moves or renames a category)."""
        known = await bulk.categories()
        repository = CategoryRepository(conn)
        for spec in self.records.categories:
            if spec.slug in known:
                continue
            parent = known.get(spec.parent_slug) if spec.parent_slug is not None else None
            if spec.parent_slug is not None and parent is None:
                self.rejected.append(
                    Rejected(f"category {spec.slug!r}", spec.slug, f"unknown parent {spec.parent_slug!r}")
                )
                continue
            category = Category.create(
                slug=spec.slug,
                name=spec.name,
                parent_id=parent[0] if parent else None,
                position=spec.position,
            )
            path = parent[1] if parent else "/"
            await repository.add(category, path)
            events += category.events
            known[spec.slug] = (category.id, f"{path}{category.id}/")
        return {slug: found[0] for slug, found in known.items()}

    def _staged(
        self, categories: dict[str, uuid.UUID], warehouses: dict[str, uuid.UUID]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[str, uuid.UUID, int, bool]]]:
        products: list[tuple[Any, ...]] = []
        variants: list[tuple[Any, ...]] = []
        stock: list[tuple[str, uuid.UUID, int, bool]] = []
        initial = self.records.initial_stock
        for spec, where in zip(self.records.products, self.records.origins, strict=True):
            category_id = categories.get(spec.category_slug) if spec.category_slug else None
            if spec.category_slug and category_id is None:
                self.rejected.append(Rejected(where, spec.slug, f"unknown category {spec.category_slug!r}"))
            products.append(_product_row(spec, category_id))
            for position, v in enumerate(spec.variants):
                variants.append(
                    (spec.slug, v.sku, _json(v.attributes), v.price.amount, v.price.currency, position)
                )
                seen: set[str] = set()
                for code, units in v.stock:
                    warehouse_id = warehouses.get(code)
                    if warehouse_id is None:
                        self.rejected.append(Rejected(where, v.sku, f"unknown warehouse {code!r}"))
                    elif code in seen:
                        self.rejected.append(Rejected(where, v.sku, f"warehouse {code!r} given twice"))
                    else:
                        stock.append((v.sku, warehouse_id, units, initial))
                    seen.add(code)
        return products, variants, stock


def _product_row(spec: ProductSpec, category_id: uuid.UUID | None) -> tuple[Any, ...]:
    prices = [v.price for v in spec.variants]
    return (
        uuid.uuid4(),
        spec.slug,
        spec.name.strip(),  # as `Product.create` stores it
        spec.description,
        category_id,
        _json(spec.attributes),
        _json(list(spec.media)),
        spec.published,
        # Cheapest and dearest; None without variants: the ones the product keeps (or 0) decide
        # (`CatalogBulk.upsert`).
        min((p.amount for p in prices), default=None),
        max((p.amount for p in prices), default=None),
        prices[0].currency if prices else None,
    )


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _grace(on_commit: object) -> float:
    return on_commit.publish_after() if isinstance(on_commit, RelayHandoff) else 0.0


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _product_events(
    import_id: str, created: Sequence[uuid.UUID], updated: Sequence[uuid.UUID]
) -> list[DomainEvent]:
    changed = [(str(p), True) for p in created] + [(str(p), False) for p in updated]
    return [
        ProductsImported(
            aggregate_id=import_id,
            created=[p for p, new in batch if new],
            updated=[p for p, new in batch if not new],
        )
        for batch in _batches(changed, PRODUCT_BATCH)
    ]


def _level_events(import_id: str, written: StockWritten) -> list[DomainEvent]:
    return [
        StockLevelsImported(
            aggregate_id=import_id,
            levels=list(batch),
            adjustments=written.adjustments if index == 0 else 0,
        )
        for index, batch in enumerate(_batches(written.levels, LEVEL_BATCH))
    ]
