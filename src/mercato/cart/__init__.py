"""Cart context: what a shopper means to buy, kept in Redis (expiring), priced from the catalog on
every read.

Other contexts use only what is exported here: its commands, error codes, read shapes and the `CartClient`
Protocol (`mercato.cart.client`).
"""

from mercato.cart.client import CartClient
from mercato.cart.domain.commands import (
    AddCartLines,
    ClearCart,
    CreateCart,
    MergeCartOnLogin,
    RemoveBoughtLines,
    RemoveCartLines,
    UpdateCartLines,
)
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
    "AddCartLines",
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
    "ClearCart",
    "CreateCart",
    "LineIssue",
    "MergeCartOnLogin",
    "RemoveBoughtLines",
    "RemoveCartLines",
    "SnapshotLine",
    "UpdateCartLines",
]
