"""Error codes of the orders' mutations, shared with GraphQL (one enum per mutation).

Each starts with the names of `platform.errors.Problem`, so input checks re-code into it.
"""

from __future__ import annotations

from enum import Enum


class PlaceOrderErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    TOTAL_MISMATCH = "TOTAL_MISMATCH"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    # The key was used by this customer for a different order.
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    # The caller-chosen order id belongs to another order.
    ORDER_ID_TAKEN = "ORDER_ID_TAKEN"


class OrderQueryErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    INVALID_CURSOR = "INVALID_CURSOR"


class CheckoutCompleteErrorCode(Enum):
    """`checkoutComplete`: turning a cart into an order (cart checks, then the order's own)."""

    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    CART_NOT_FOUND = "CART_NOT_FOUND"
    CART_EMPTY = "CART_EMPTY"
    UNKNOWN_SKU = "UNKNOWN_SKU"
    NOT_PURCHASABLE = "NOT_PURCHASABLE"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    TOTAL_MISMATCH = "TOTAL_MISMATCH"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
