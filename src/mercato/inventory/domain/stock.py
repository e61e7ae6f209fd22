"""Stock levels and the arithmetic of reserving, committing, releasing and adjusting them.

Pure Python, no I/O. A `StockBook` holds every stock row of some SKUs, which the caller has locked
for the length of its transaction; all changes go through it, so each changed row's version is
bumped exactly once per write of the row and the SKUs whose availability moved are known.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mercato.inventory.domain.rules import BelowReserved, InsufficientStock
from mercato.platform.errors import FieldError, InputRejected, MercatoError, Problem

# Per stock row. Keeps a SKU's sum over many warehouses far inside a PostgreSQL integer, which is
# what the catalog's availability read model stores.
ON_HAND_MAX = 100_000_000


@dataclass
class StockLevel:
    """One (sku, warehouse) row."""

    sku: str
    warehouse_id: uuid.UUID
    on_hand: int
    reserved: int
    version: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True, order=True)
class Allocation:
    """Units of one SKU held in one warehouse for a reservation."""

    sku: str
    warehouse_id: uuid.UUID
    quantity: int

    def as_dict(self) -> dict[str, object]:
        return {"sku": self.sku, "warehouse_id": str(self.warehouse_id), "quantity": self.quantity}


@dataclass(frozen=True)
class LevelMove:
    """One write of a SKU's stock rows: units available over all its warehouses just before and
    after it, and the summed row version after it (strictly increasing from one write to the next)."""

    sku: str
    before: int
    after: int
    version: int


class StockInvariantBroken(MercatoError):
    """Stored stock contradicts a reservation (e.g. fewer units reserved than it holds). A bug or a
    manual edit, never a client's fault; the transaction is rolled back."""


def allocate(levels: Iterable[StockLevel], quantity: int) -> list[Allocation] | None:
    """Take `quantity` units from the warehouses with the most available first (ties: lowest id),
    or None if all of them together hold fewer. Fewest warehouses per line means fewer parcels."""
    plan: list[Allocation] = []
    remaining = quantity
    for level in sorted(levels, key=lambda lv: (-lv.available, lv.warehouse_id)):
        if remaining == 0:
            break
        take = min(level.available, remaining)
        if take > 0:
            plan.append(Allocation(level.sku, level.warehouse_id, take))
            remaining -= take
    return plan if remaining == 0 else None


class StockBook:
    def __init__(self, levels: Iterable[StockLevel]) -> None:
        self._levels: dict[tuple[str, uuid.UUID], StockLevel] = {}
        self._by_sku: dict[str, list[StockLevel]] = {}
        for level in levels:
            self._levels[(level.sku, level.warehouse_id)] = level
            self._by_sku.setdefault(level.sku, []).append(level)
        self._changed: dict[tuple[str, uuid.UUID], StockLevel] = {}
        self._row_before: dict[tuple[str, uuid.UUID], int] = {}
        self._available_before: dict[str, int] = {}

    def levels_of(self, sku: str) -> list[StockLevel]:
        return list(self._by_sku.get(sku, ()))

    def level(self, sku: str, warehouse_id: uuid.UUID) -> StockLevel | None:
        return self._levels.get((sku, warehouse_id))

    def available(self, sku: str) -> int:
        return sum(level.available for level in self._by_sku.get(sku, ()))

    @property
    def changed(self) -> list[StockLevel]:
        """Rows to write back, in lock order."""
        return [self._changed[key] for key in sorted(self._changed)]

    def delta(self, sku: str) -> int:
        """Units available that the SKU's rows to write back gained (negative: lost)."""
        return sum(
            level.available - self._row_before[key] for key, level in self._changed.items() if key[0] == sku
        )

    def mark_saved(self) -> None:
        """The changed rows are written: changing a row again is a new write (a new version)."""
        self._changed = {}
        self._row_before = {}

    @property
    def availability_changed(self) -> list[str]:
        """SKUs whose units available differ from when this book was loaded."""
        return sorted(sku for sku, before in self._available_before.items() if self.available(sku) != before)

    def _touch(self, level: StockLevel) -> None:
        key = (level.sku, level.warehouse_id)
        if key in self._changed:
            return
        self._available_before.setdefault(level.sku, self.available(level.sku))
        self._row_before[key] = level.available
        level.version += 1
        self._changed[key] = level

    def _held(self, allocation: Allocation) -> StockLevel:
        level = self.level(allocation.sku, allocation.warehouse_id)
        if level is None or level.reserved < allocation.quantity or level.on_hand < allocation.quantity:
            raise StockInvariantBroken(
                f"stock of {allocation.sku} does not hold {allocation.quantity} reserved units"
            )
        return level

    def reserve(self, lines: Mapping[str, int]) -> list[Allocation]:
        """Hold every line, or none: any SKU short raises `InsufficientStock` naming all short SKUs
        and leaves the book untouched."""
        plans = {sku: allocate(self.levels_of(sku), quantity) for sku, quantity in sorted(lines.items())}
        short = [sku for sku, plan in plans.items() if plan is None]
        if short:
            raise InsufficientStock(short)
        allocations = [a for plan in plans.values() if plan is not None for a in plan]
        for allocation in allocations:
            level = self._levels[(allocation.sku, allocation.warehouse_id)]
            self._touch(level)
            level.reserved += allocation.quantity
        return allocations

    def commit(self, allocations: Iterable[Allocation]) -> None:
        """The held units are sold: they leave both on hand and reserved (availability unchanged)."""
        for allocation in allocations:
            level = self._held(allocation)
            self._touch(level)
            level.on_hand -= allocation.quantity
            level.reserved -= allocation.quantity

    def release(self, allocations: Iterable[Allocation]) -> None:
        """The held units become sellable again."""
        for allocation in allocations:
            level = self._held(allocation)
            self._touch(level)
            level.reserved -= allocation.quantity

    def adjust(
        self, sku: str, warehouse_id: uuid.UUID, *, delta: int | None = None, set_on_hand: int | None = None
    ) -> tuple[int, int]:
        """Apply a staff adjustment; returns (delta, on hand after). The row must have been loaded
        unless the adjustment removes units (which then fails: there is nothing to remove)."""
        field = "delta" if delta is not None else "setOnHand"
        level = self.level(sku, warehouse_id)
        current = level.on_hand if level is not None else 0
        reserved = level.reserved if level is not None else 0
        if delta is not None:
            change = delta
        elif set_on_hand is not None:
            change = set_on_hand - current
        else:
            raise InputRejected([FieldError("delta", Problem.REQUIRED, "give delta or setOnHand")])
        after = current + change
        if after < 0:
            raise InsufficientStock([sku], field=field)
        if after < reserved:
            raise BelowReserved(sku, reserved, field)
        if after > ON_HAND_MAX:
            raise InputRejected(
                [FieldError(field, Problem.OUT_OF_RANGE, f"on hand cannot exceed {ON_HAND_MAX}")]
            )
        if change != 0:
            if level is None:
                raise StockInvariantBroken(f"stock row of {sku} must be created before units are added")
            self._touch(level)
            level.on_hand = after
        return change, after
