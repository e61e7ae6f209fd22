"""Error codes of the cart's operations: one enum per mutation (shared with GraphQL), plus the
read-side ones. Each mutation enum repeats the generic `Problem` names so input checks re-code to it."""

from __future__ import annotations

from enum import Enum


class CartProblem(Enum):
    """Cart-specific reasons the model raises; use cases re-code them into their own enum by name."""

    CART_NOT_FOUND = "CART_NOT_FOUND"
    UNKNOWN_SKU = "UNKNOWN_SKU"
    NOT_PURCHASABLE = "NOT_PURCHASABLE"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    QUANTITY_OUT_OF_RANGE = "QUANTITY_OUT_OF_RANGE"
    TOO_MANY_LINES = "TOO_MANY_LINES"
    LINE_NOT_FOUND = "LINE_NOT_FOUND"
    CART_EMPTY = "CART_EMPTY"


class CartCreateErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    # The gateway's rate limit on anonymous carts per client address (gateway.rate_limits).
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"


class CartLinesAddErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    CART_NOT_FOUND = "CART_NOT_FOUND"
    UNKNOWN_SKU = "UNKNOWN_SKU"
    NOT_PURCHASABLE = "NOT_PURCHASABLE"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    QUANTITY_OUT_OF_RANGE = "QUANTITY_OUT_OF_RANGE"
    TOO_MANY_LINES = "TOO_MANY_LINES"


class CartLinesUpdateErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    CART_NOT_FOUND = "CART_NOT_FOUND"
    LINE_NOT_FOUND = "LINE_NOT_FOUND"
    QUANTITY_OUT_OF_RANGE = "QUANTITY_OUT_OF_RANGE"


class CartLinesRemoveErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    CART_NOT_FOUND = "CART_NOT_FOUND"


class CartQueryErrorCode(Enum):
    """Reading a cart (`get`): the GraphQL `cart` query turns these into `null`."""

    INVALID = "INVALID"
    CART_NOT_FOUND = "CART_NOT_FOUND"


class CartMergeErrorCode(Enum):
    """`merge_on_login`, called by the login flow rather than by a storefront mutation."""

    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    CART_NOT_FOUND = "CART_NOT_FOUND"


class CartCheckoutErrorCode(Enum):
    """`checkout_snapshot`, the order saga's first step: every line must be purchasable right now."""

    INVALID = "INVALID"
    CART_NOT_FOUND = "CART_NOT_FOUND"
    CART_EMPTY = "CART_EMPTY"
    UNKNOWN_SKU = "UNKNOWN_SKU"
    NOT_PURCHASABLE = "NOT_PURCHASABLE"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
