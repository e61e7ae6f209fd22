"""Fills the catalog and inventory with demo data or a Luma-format file (`mercato seed`).

Everything goes through the contexts' own commands, so seeded data obeys the same rules (and emits
the same events) as data entered by staff. Re-running is safe: products whose slug already exists
are skipped and reported, never duplicated, and their stock is left alone.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from mercato.app import demo_data, luma
from mercato.app.demo_data import CategorySpec, ProductSpec, SeedPlan, Skipped, WarehouseSpec
from mercato.catalog import CategoryCreateErrorCode, ProductCreateErrorCode
from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.domain.commands import CreateCategory, CreateProduct, NewVariant
from mercato.inventory import AdjustmentReason, AdjustStock, CreateWarehouse, WarehouseCreateErrorCode
from mercato.inventory.bootstrap import InventoryService
from mercato.platform.errors import ClientError

__all__ = [
    "SeedFileError",
    "SeedPlan",
    "SeedSummary",
    "Skipped",
    "catalog_is_empty",
    "seed_demo",
    "seed_from_file",
    "seed_plan",
]

SeedFileError = luma.SeedFileError
Progress = Callable[[int, int], None]

CONCURRENCY = 8
ACTOR = "seed"
SLUG_TAKEN = "slug already taken"
SKU_TAKEN = "SKU already taken"


@dataclass(frozen=True)
class SeedSummary:
    """What one seeding run created (not what already existed) and what it left out."""

    categories: int
    products: int
    variants: int
    stock_rows: int
    skipped: tuple[Skipped, ...] = ()

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(s.reason for s in self.skipped))

    def describe(self) -> str:
        """One line for people, e.g. for the CLI."""
        line = (
            f"created {self.categories:,} categories, {self.products:,} products, "
            f"{self.variants:,} variants, {self.stock_rows:,} stock rows"
        )
        if self.skipped:
            reasons = ", ".join(f"{n:,} {reason}" for reason, n in self.skipped_by_reason().items())
            line += f"; skipped {len(self.skipped):,} ({reasons})"
        return line

    def __str__(self) -> str:
        # The CLI prints the summary itself; the dataclass repr would list every skipped product.
        return self.describe()


async def catalog_is_empty(catalog: CatalogService) -> bool:
    """No product at all (published or not): the signal to seed demo data on first run."""
    async with catalog.db.connect() as conn:
        found = await conn.scalar(text("SELECT EXISTS (SELECT 1 FROM catalog.products)"))
    return not found


async def seed_demo(
    catalog: CatalogService,
    inventory: InventoryService,
    *,
    products: int = 60,
    progress: Progress | None = None,
    seed: int = demo_data.DEFAULT_SEED,
) -> SeedSummary:
    """Mercato's generated demo catalog: `products` products, stock in two warehouses."""
    return await seed_plan(catalog, inventory, demo_data.generate(products, seed=seed), progress=progress)


async def seed_from_file(
    catalog: CatalogService, inventory: InventoryService, path: Path, *, progress: Progress | None = None
) -> SeedSummary:
    """A Luma-format catalog file. Raises `SeedFileError` (one line, names the file) before writing
    anything when the file is missing or malformed."""
    plan = await asyncio.to_thread(luma.load, path)  # reading and parsing a big file would block the loop
    return await seed_plan(catalog, inventory, plan, progress=progress)


async def seed_plan(
    catalog: CatalogService,
    inventory: InventoryService,
    plan: SeedPlan,
    *,
    progress: Progress | None = None,
    concurrency: int = CONCURRENCY,
) -> SeedSummary:
    """Write `plan`: warehouses and categories first (reused when they exist), then products with
    their stock, `concurrency` products at a time. `progress(done, total)` follows the products."""
    warehouses = {spec.code: await _warehouse(inventory, spec) for spec in plan.warehouses}
    category_ids, created_categories = await _categories(catalog, plan.categories)
    run = _Run(catalog, inventory, warehouses, category_ids, progress, total=len(plan.products))
    await run.products(plan.products, concurrency)
    return SeedSummary(
        categories=created_categories,
        products=run.created,
        variants=run.variants,
        stock_rows=run.stock_rows,
        skipped=plan.skipped + tuple(run.skipped),
    )


async def _warehouse(inventory: InventoryService, spec: WarehouseSpec) -> uuid.UUID:
    try:
        created = await inventory.handle(CreateWarehouse(code=spec.code, name=spec.name))
        return created.id
    except ClientError as exc:
        if exc.code is not WarehouseCreateErrorCode.DUPLICATE_CODE:
            raise
    # Already there (an earlier seed, or staff): stock goes into it, whatever its name now is.
    for warehouse in await inventory.queries.warehouses():
        if warehouse.code == spec.code:
            return warehouse.id
    raise RuntimeError(f"warehouse {spec.code!r} is reported to exist but is not listed")


async def _category_ids(catalog: CatalogService, slugs: list[str]) -> dict[str, uuid.UUID]:
    # Read the table, not `queries.categories()`: that list is cached and refreshed by events,
    # which a seed run from the CLI may not be consuming.
    async with catalog.db.connect() as conn:
        rows = await conn.execute(
            text("SELECT slug, id FROM catalog.categories WHERE slug = ANY(:slugs)"), {"slugs": slugs}
        )
        return {row.slug: row.id for row in rows}


async def _categories(
    catalog: CatalogService, specs: tuple[CategorySpec, ...]
) -> tuple[dict[str, uuid.UUID], int]:
    """Ids by slug for every category of the plan (existing ones reused), and how many were new."""
    ids = await _category_ids(catalog, [spec.slug for spec in specs])
    created = 0
    for spec in specs:  # parents come first, and a child needs its parent's id: one at a time
        if spec.slug in ids:
            continue
        parent_id = ids[spec.parent_slug] if spec.parent_slug is not None else None
        command = CreateCategory(slug=spec.slug, name=spec.name, parent_id=parent_id, position=spec.position)
        try:
            ids[spec.slug] = await catalog.handle(command)
            created += 1
        except ClientError as exc:
            if exc.code is not CategoryCreateErrorCode.DUPLICATE_SLUG:
                raise
            ids.update(await _category_ids(catalog, [spec.slug]))  # created meanwhile by someone else
    return ids, created


class _Run:
    """The product phase of one seeding run: counters shared by its concurrent workers."""

    def __init__(
        self,
        catalog: CatalogService,
        inventory: InventoryService,
        warehouses: dict[str, uuid.UUID],
        category_ids: dict[str, uuid.UUID],
        progress: Progress | None,
        total: int,
    ) -> None:
        self.catalog = catalog
        self.inventory = inventory
        self.warehouses = warehouses
        self.category_ids = category_ids
        self.progress = progress
        self.total = total
        self.done = self.created = self.variants = self.stock_rows = 0
        self.skipped: list[Skipped] = []

    async def products(self, specs: tuple[ProductSpec, ...], concurrency: int) -> None:
        # A few workers pulling from one iterator: bounded concurrency without a task per product.
        # Each product is its own transaction, so several in flight keep the database busy.
        queue = iter(specs)
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(max(1, min(concurrency, len(specs)))):
                    group.create_task(self._worker(queue))
        except ExceptionGroup as failed:
            # Callers (the CLI) expect one typed error, not a group; the first one is the cause.
            raise failed.exceptions[0] from None

    async def _worker(self, queue: Iterator[ProductSpec]) -> None:
        for spec in queue:
            if await self._product(spec):
                await self._stock(spec)
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, self.total)

    async def _product(self, spec: ProductSpec) -> bool:
        """Create the product; False (and recorded as skipped) when it already exists."""
        command = CreateProduct(
            slug=spec.slug,
            name=spec.name,
            description=spec.description,
            category_id=self.category_ids[spec.category_slug] if spec.category_slug else None,
            attributes=spec.attributes,
            media=list(spec.media),
            published=spec.published,
            variants=[NewVariant(sku=v.sku, price=v.price, attributes=v.attributes) for v in spec.variants],
        )
        try:
            await self.catalog.handle(command)
        except ClientError as exc:
            # Only "already there" is expected on a re-run; anything else is a real problem.
            if exc.code is ProductCreateErrorCode.DUPLICATE_SLUG:
                self.skipped.append(Skipped(spec.slug, SLUG_TAKEN))
            elif exc.code is ProductCreateErrorCode.DUPLICATE_SKU:
                self.skipped.append(Skipped(spec.slug, SKU_TAKEN))
            else:
                raise ClientError(
                    f"product {spec.slug!r}: {exc.message}", code=exc.code, field=exc.field
                ) from exc
            return False
        self.created += 1
        self.variants += len(spec.variants)
        return True

    async def _stock(self, spec: ProductSpec) -> None:
        for variant in spec.variants:
            for code, on_hand in variant.stock:
                # A count (not a delta): the level is what the plan says even if a row existed.
                await self.inventory.handle(
                    AdjustStock(
                        sku=variant.sku,
                        warehouse_id=self.warehouses[code],
                        reason=AdjustmentReason.COUNTED.name,
                        actor=ACTOR,
                        set_on_hand=on_hand,
                        note="initial stock from mercato seed",
                    )
                )
                self.stock_rows += 1
