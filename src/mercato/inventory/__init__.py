"""Inventory context: warehouses, stock per SKU and warehouse, adjustments and reservations.

Other contexts use only what is exported here: its commands, results, events, error codes and the
`InventoryClient` Protocol (`mercato.inventory.client`).
"""

from mercato.inventory.client import InventoryClient
from mercato.inventory.domain import events
from mercato.inventory.domain.commands import (
    AdjustStock,
    CommitReservation,
    CreateWarehouse,
    ExpireReservations,
    ReleaseReservation,
    ReservationLine,
    ReserveStock,
)
from mercato.inventory.domain.errors import (
    CommitReservationErrorCode,
    ReleaseReservationErrorCode,
    ReserveStockErrorCode,
    StockAdjustErrorCode,
    WarehouseCreateErrorCode,
)
from mercato.inventory.domain.model import (
    Adjustment,
    AdjustmentReason,
    Reservation,
    ReservationStatus,
    Warehouse,
)
from mercato.inventory.domain.rules import InsufficientStock
from mercato.inventory.domain.stock import Allocation
from mercato.platform.migrations import MigrationSource, script_location

MIGRATIONS = MigrationSource(schema="inventory", script_location=script_location(__file__))

__all__ = [
    "MIGRATIONS",
    "AdjustStock",
    "Adjustment",
    "AdjustmentReason",
    "Allocation",
    "CommitReservation",
    "CommitReservationErrorCode",
    "CreateWarehouse",
    "ExpireReservations",
    "InsufficientStock",
    "InventoryClient",
    "ReleaseReservation",
    "ReleaseReservationErrorCode",
    "Reservation",
    "ReservationLine",
    "ReservationStatus",
    "ReserveStock",
    "ReserveStockErrorCode",
    "StockAdjustErrorCode",
    "Warehouse",
    "WarehouseCreateErrorCode",
    "events",
]
