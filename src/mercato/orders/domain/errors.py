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
    # Nothing to order, and no earlier order under this key from this cart.
    CART_EMPTY = "CART_EMPTY"
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
    # The gateway's rate limit per customer, or per client address when anonymous (gateway.rate_limits).
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    # The payment provider stopped answering (payments' circuit breaker is open): retry shortly.
    PAYMENTS_PAUSED = "PAYMENTS_PAUSED"


class OrderCancelErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    NOT_FOUND = "NOT_FOUND"
    # Shipped, rejected, or a refund still in flight.
    INVALID_STATE = "INVALID_STATE"


class OrderFulfillErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    NOT_FOUND = "NOT_FOUND"
    INVALID_STATE = "INVALID_STATE"
    # Fulfilled already, with another tracking number.
    ALREADY_FULFILLED = "ALREADY_FULFILLED"


class OrderRefundErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    NOT_FOUND = "NOT_FOUND"
    INVALID_STATE = "INVALID_STATE"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    # More than what was captured and not yet refunded (or asked to be).
    AMOUNT_EXCEEDS_CAPTURED = "AMOUNT_EXCEEDS_CAPTURED"
    # The key was used for a refund of another amount.
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
