"""Events the inventory publishes (subjects `<ns>.inventory.v1.<name>`).

`StockLevelChanged` (every change of a SKU's availability: what the catalog's availability read model
consumes, keeping the highest `version`) and `AvailabilityFlipped` (only when it crosses zero: what
search's `inStock` consumes) are read by other contexts; their field names are part of the contract
(docs/events.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from mercato.platform.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class InventoryEvent(DomainEvent):
    context: ClassVar[str] = "inventory"


@dataclass(frozen=True, kw_only=True)
class WarehouseCreated(InventoryEvent):
    """aggregate_id: the warehouse id."""

    name: ClassVar[str] = "warehouse_created"
    code: str
    warehouse_name: str


@dataclass(frozen=True, kw_only=True)
class StockAdjusted(InventoryEvent):
    """A staff adjustment (aggregate_id: the SKU)."""

    name: ClassVar[str] = "stock_adjusted"
    adjustment_id: str
    sku: str
    warehouse_id: str
    delta: int
    on_hand_after: int
    reason: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class ReservationCreated(InventoryEvent):
    """aggregate_id: the reservation id. `lines` are per SKU, `allocations` per SKU and warehouse."""

    name: ClassVar[str] = "reservation_created"
    reservation_id: str
    reference: str
    lines: list[dict[str, object]]
    allocations: list[dict[str, object]]
    expires_at: str


@dataclass(frozen=True, kw_only=True)
class ReservationCommitted(InventoryEvent):
    name: ClassVar[str] = "reservation_committed"
    reservation_id: str
    reference: str
    lines: list[dict[str, object]]


@dataclass(frozen=True, kw_only=True)
class ReservationReleased(InventoryEvent):
    """`status` is RELEASED (someone released it) or EXPIRED (the sweeper did, reason "EXPIRED")."""

    name: ClassVar[str] = "reservation_released"
    reservation_id: str
    reference: str
    reason: str
    status: str
    lines: list[dict[str, object]]


@dataclass(frozen=True, kw_only=True)
class ReservationRestocked(InventoryEvent):
    """A committed reservation's units are back on hand (its order was cancelled); aggregate_id:
    the reservation id. Each allocation is recorded as a RETURNED adjustment."""

    name: ClassVar[str] = "reservation_restocked"
    reservation_id: str
    reference: str
    reason: str
    lines: list[dict[str, object]]


@dataclass(frozen=True, kw_only=True)
class StockLevelChanged(InventoryEvent):
    """Units of `sku` that can be sold now, over all warehouses (aggregate_id: the SKU).

    Payload: {"sku", "available", "version"}. `version` is the sum of the SKU's stock-row versions:
    it strictly increases from one event of a SKU to the next, because every change locks all rows
    of the SKU and bumps at least one. The field is `stock_version` here because `version` is the
    envelope's schema version on every event.
    """

    name: ClassVar[str] = "stock_level_changed"
    sku: str
    available: int
    stock_version: int

    def payload(self) -> dict[str, Any]:
        return {"sku": self.sku, "available": self.available, "version": self.stock_version}


@dataclass(frozen=True, kw_only=True)
class AvailabilityFlipped(InventoryEvent):
    """`sku` went from out of stock to in stock or back (aggregate_id: the SKU): written with the
    `stock_level_changed` of the same transaction, only when `available` crossed zero.

    Payload: {"sku", "in_stock", "available", "version"}, `version` as in `stock_level_changed`
    (the flips of a SKU are a subsequence of its level events, so their versions strictly increase
    too). Out of stock is where every SKU starts, so the first flip of a new SKU is to in stock. A
    reader that needs only "can it be sold" keeps the flip with the highest version.
    """

    name: ClassVar[str] = "availability_flipped"
    sku: str
    in_stock: bool
    available: int
    stock_version: int

    def payload(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "in_stock": self.in_stock,
            "available": self.available,
            "version": self.stock_version,
        }


@dataclass(frozen=True, kw_only=True)
class StockLevelsImported(InventoryEvent):
    """A bulk import set stock counts (aggregate_id: the import's id): one event per batch of SKUs,
    each entry what a `stock_level_changed` of that SKU would carry ({"sku", "available", "version"},
    the version from the same per-SKU sequence), written for every SKU whose availability moved.
    Readers of levels or flips apply each entry as that event (highest version wins); a bulk import
    emits no per-SKU `stock_level_changed`/`availability_flipped` nor per-row `stock_adjusted` (the
    COUNTED adjustments are in the audit trail all the same)."""

    name: ClassVar[str] = "stock_levels_imported"
    levels: list[dict[str, Any]]
    adjustments: int


IMPORT_EVENT_BATCH = 1_000
