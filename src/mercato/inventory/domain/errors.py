"""Error codes of the inventory's mutations: one enum per mutation, shared with GraphQL and gRPC.

Each starts with the names of `platform.errors.Problem`, so input checks re-code into it.
"""

from __future__ import annotations

from enum import Enum


class WarehouseCreateErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    DUPLICATE_CODE = "DUPLICATE_CODE"


class StockAdjustErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    WAREHOUSE_NOT_FOUND = "WAREHOUSE_NOT_FOUND"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    BELOW_RESERVED = "BELOW_RESERVED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"


class ReserveStockErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"


class CommitReservationErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    RESERVATION_NOT_FOUND = "RESERVATION_NOT_FOUND"
    RESERVATION_NOT_ACTIVE = "RESERVATION_NOT_ACTIVE"


class ReleaseReservationErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    RESERVATION_NOT_FOUND = "RESERVATION_NOT_FOUND"
    RESERVATION_NOT_ACTIVE = "RESERVATION_NOT_ACTIVE"
