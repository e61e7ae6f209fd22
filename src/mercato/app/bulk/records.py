"""What a bulk import works on: the records read from a file, the rows refused, and the outcome.

Records reuse the seed plan's shapes (`demo_data.ProductSpec` and friends): a file, a generated demo
catalog and a Luma file all become the same thing before anything is checked or written.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from mercato.app.demo_data import CategorySpec, ProductSpec, SeedPlan, Skipped, WarehouseSpec


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a file's records are read, checked and written.

    An import builds millions of objects (records, staged rows) that live until it ends and form no
    cycles; every full collection walked all of them again: half the reader's time (20k products:
    3.2 CPU-s with collections, 1.5 without). Reference counting still frees everything; nested uses
    leave the collector as the outermost found it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class FileFormat(Enum):
    CSV = "csv"
    JSONL = "jsonl"
    LUMA = "luma"

    @classmethod
    def of(cls, path: Path) -> FileFormat | None:
        """The format a file name implies (`.csv`, `.jsonl`/`.ndjson`, `.json` for Luma), if any."""
        return {".csv": cls.CSV, ".jsonl": cls.JSONL, ".ndjson": cls.JSONL, ".json": cls.LUMA}.get(
            path.suffix.lower()
        )


@dataclass(frozen=True)
class Rejected:
    """One refused row: where it is in the file, what it is (a slug or SKU) and why."""

    where: str  # "line 12", "product 'joust-duffle-bag'"
    ref: str
    reason: str

    def describe(self) -> str:
        ref = f" ({self.ref})" if self.ref else ""
        return f"{self.where}{ref}: {self.reason}"


@dataclass
class ImportRecords:
    """Everything a file asks for, in file order, plus what could not even be read.

    `initial_stock`: the file's stock counts only fill stock rows that do not exist yet (a Luma file,
    whose counts are made up); otherwise each count is set, as a COUNTED adjustment when it changes.
    """

    source: str
    warehouses: list[WarehouseSpec] = field(default_factory=list)
    categories: list[CategorySpec] = field(default_factory=list)
    products: list[ProductSpec] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)  # where each product is in the file
    rejected: list[Rejected] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    initial_stock: bool = False

    def add_product(self, product: ProductSpec, where: str) -> None:
        self.products.append(product)
        self.origins.append(where)

    @classmethod
    def of_plan(cls, plan: SeedPlan, source: str, *, initial_stock: bool = False) -> ImportRecords:
        records = cls(
            source,
            list(plan.warehouses),
            list(plan.categories),
            skipped=list(plan.skipped),
            initial_stock=initial_stock,
        )
        for product in plan.products:
            records.add_product(product, f"product {product.slug!r}")
        return records


@dataclass(frozen=True)
class ImportSummary:
    """What one import changed (or, in a dry run, would have changed), and what it refused."""

    source: str
    products_read: int
    warehouses_created: int = 0
    categories_created: int = 0
    products_created: int = 0
    products_updated: int = 0
    variants_written: int = 0
    stock_rows_written: int = 0
    events: int = 0
    rejected: tuple[Rejected, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def written(self) -> bool:
        """Whether anything was committed (not a dry run, nothing refused)."""
        return not self.dry_run and not self.rejected

    @property
    def changes(self) -> int:
        return (
            self.warehouses_created
            + self.categories_created
            + self.products_created
            + self.products_updated
            + self.variants_written
            + self.stock_rows_written
        )

    @property
    def products_per_second(self) -> float:
        return self.products_read / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        """One line for people."""
        if self.rejected:
            return (
                f"{self.source}: {len(self.rejected):,} rows rejected; nothing was imported "
                f"({self.products_read:,} products read)"
            )
        verb = "would change" if self.dry_run else "changed"
        line = (
            f"{self.source}: {self.products_read:,} products read in {self.seconds:.1f} s "
            f"({self.products_per_second:,.0f}/s); {verb}: {self.products_created:,} products created, "
            f"{self.products_updated:,} updated, {self.variants_written:,} variants, "
            f"{self.stock_rows_written:,} stock rows, {self.categories_created:,} categories, "
            f"{self.warehouses_created:,} warehouses; {self.events:,} events"
        )
        if self.skipped:
            reasons = Counter(s.reason for s in self.skipped)
            line += "; skipped " + ", ".join(f"{n:,} {reason}" for reason, n in reasons.items())
        if self.dry_run:
            line += " (dry run: nothing written)"
        return line
