"""Inventory use cases, as data. Entrypoints build one and hand it to `InventoryService.handle`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

DEFAULT_RESERVATION_TTL_SECONDS = 900


@dataclass(frozen=True)
class CreateWarehouse:
    code: str
    name: str


@dataclass(frozen=True)
class AdjustStock:
    """Exactly one of `delta` (units added or removed) and `set_on_hand` (a count) is given."""

    sku: str
    warehouse_id: uuid.UUID
    reason: str  # an `AdjustmentReason` name
    actor: str
    delta: int | None = None
    set_on_hand: int | None = None
    note: str = ""
    idempotency_key: str | None = None


class ReservationLine(NamedTuple):
    sku: str
    quantity: int


@dataclass(frozen=True)
class ReserveStock:
    """Hold units for an order. `reference` is the idempotency key: the same one twice returns the
    first reservation unchanged."""

    reference: str
    lines: Sequence[tuple[str, int]]  # (sku, quantity); ReservationLine is one
    ttl_seconds: int = DEFAULT_RESERVATION_TTL_SECONDS


@dataclass(frozen=True)
class CommitReservation:
    """The order was paid: the held units leave the shelves."""

    reservation_id: uuid.UUID


@dataclass(frozen=True)
class ReleaseReservation:
    """The order will not go ahead: the held units become sellable again."""

    reservation_id: uuid.UUID
    reason: str


@dataclass(frozen=True)
class ExpireReservations:
    """Release up to `limit` ACTIVE reservations whose `expires_at` is at or before `now`."""

    now: datetime
    limit: int = 100


@dataclass(frozen=True)
class RestockReservation:
    """A committed reservation's order was cancelled: its units go back on the shelves, in the
    warehouses they left. Idempotent: a second restock of the same reservation changes nothing."""

    reservation_id: uuid.UUID
    reason: str
