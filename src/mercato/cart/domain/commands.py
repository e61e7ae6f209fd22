"""Cart use cases, as data. Entrypoints and clients build one and hand it to `CartService.handle`.

`principal` is who asks (None: an anonymous shopper); the use case checks they may reach the cart.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from mercato.platform.auth import Principal


@dataclass(frozen=True)
class CreateCart:
    """A new cart; for a signed-in customer who has one already, that one (one cart each)."""

    owner: Principal | None


@dataclass(frozen=True)
class AddCartLines:
    cart_id: uuid.UUID
    principal: Principal | None
    lines: Sequence[tuple[str, int]]  # (sku, quantity to add)


@dataclass(frozen=True)
class UpdateCartLines:
    """Set the quantity of lines already in the cart (`RemoveCartLines` drops one)."""

    cart_id: uuid.UUID
    principal: Principal | None
    lines: Sequence[tuple[str, int]]  # (sku, new quantity)


@dataclass(frozen=True)
class RemoveCartLines:
    cart_id: uuid.UUID
    principal: Principal | None
    skus: Sequence[str]


@dataclass(frozen=True)
class MergeCartOnLogin:
    """Fold the cart a shopper filled before signing in into their own."""

    anonymous_cart_id: uuid.UUID
    principal: Principal


@dataclass(frozen=True)
class ClearCart:
    """Empty a cart. Internal (no caller check); idempotent."""

    cart_id: uuid.UUID


@dataclass(frozen=True)
class RemoveBoughtLines:
    """An order checked out from `cart_id` was confirmed: what it bought leaves the cart, once per
    order. Internal (the `order_confirmed` consumer's)."""

    cart_id: uuid.UUID
    order_id: uuid.UUID
    lines: Sequence[tuple[str, int]]
