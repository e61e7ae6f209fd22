"""Cart context: what a shopper means to buy, kept in Redis (expiring), priced from the catalog on
every read.

Other contexts use only what is exported here: its error codes, read shapes and the `CartClient`
Protocol (`mercato.cart.client`).
"""

from mercato.cart.client import CartClient
from mercato.cart.domain.errors import (
    CartCheckoutErrorCode,
    CartCreateErrorCode,
    CartLinesAddErrorCode,
    CartLinesRemoveErrorCode,
    CartLinesUpdateErrorCode,
    CartMergeErrorCode,
    CartQueryErrorCode,
)
from mercato.cart.domain.model import Cart
from mercato.cart.domain.pricing import CartLineView, CartSnapshot, CartView, LineIssue, SnapshotLine

__all__ = [
    "Cart",
    "CartCheckoutErrorCode",
    "CartClient",
    "CartCreateErrorCode",
    "CartLineView",
    "CartLinesAddErrorCode",
    "CartLinesRemoveErrorCode",
    "CartLinesUpdateErrorCode",
    "CartMergeErrorCode",
    "CartQueryErrorCode",
    "CartSnapshot",
    "CartView",
    "LineIssue",
    "SnapshotLine",
]
