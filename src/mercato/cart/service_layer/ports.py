"""What the cart's use cases need from the outside: a store for carts, and current prices; and the
bundle of them every handler receives (`CartDeps`).

`CatalogPort` is the slice of the catalog's `CatalogClient` Protocol the cart uses, restated here so
the cart depends on no catalog module (contexts stay independent); any `CatalogClient` satisfies it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mercato.cart.domain.model import Cart, CartLimits

Clock = Callable[[], datetime]


class SkuPriceInfo(Protocol):
    @property
    def variant_id(self) -> uuid.UUID: ...
    @property
    def product_id(self) -> uuid.UUID: ...
    @property
    def price_amount(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def product_name(self) -> str | None: ...  # None: the product is not for sale


class CatalogPort(Protocol):
    async def sku_prices(self, skus: Sequence[str]) -> Mapping[str, SkuPriceInfo]:
        """The SKUs that exist (published or not) with their current price, in one call."""
        ...


class CartStore(Protocol):
    """Every write checks, atomically with the change, that the cart exists and that `caller` may
    reach it (raising `CartNotFound` otherwise), and refreshes the cart's expiry."""

    async def create(self, cart: Cart) -> Cart:
        """Store a new cart. For an owned one, the owner's live cart if they have one already."""
        ...

    async def load(self, cart_id: uuid.UUID) -> Cart | None: ...

    async def add(
        self,
        cart_id: uuid.UUID,
        caller: uuid.UUID | None,
        quantities: Mapping[str, int],
        limits: CartLimits,
        now: datetime,
    ) -> Cart:
        """Add to each line's quantity; `WriteRefused` when a line or the cart would exceed `limits`."""
        ...

    async def set_quantities(
        self, cart_id: uuid.UUID, caller: uuid.UUID | None, quantities: Mapping[str, int], now: datetime
    ) -> Cart:
        """Set existing lines' quantities; `WriteRefused(LINE_NOT_FOUND)` if one is not in the cart."""
        ...

    async def remove(
        self, cart_id: uuid.UUID, caller: uuid.UUID | None, skus: Sequence[str], now: datetime
    ) -> Cart:
        """Drop those lines; SKUs not in the cart are ignored (removing twice is harmless)."""
        ...

    async def merge(self, source_id: uuid.UUID, owner: uuid.UUID, limits: CartLimits, now: datetime) -> Cart:
        """Move `source_id`'s lines into `owner`'s cart (summed, capped) and delete it, or make it
        `owner`'s cart when they have none."""
        ...

    async def remove_bought(
        self, cart_id: uuid.UUID, order_id: uuid.UUID, lines: Sequence[tuple[str, int]], now: datetime
    ) -> bool:
        """Take the lines `order_id` bought out of the cart, once per order (False: done before, or
        no such cart)."""
        ...

    async def clear(self, cart_id: uuid.UUID, now: datetime) -> None:
        """Empty the cart, keeping its id and owner; nothing happens if it does not exist."""
        ...


@dataclass(frozen=True)
class CartDeps:
    store: CartStore
    catalog: CatalogPort
    limits: CartLimits
    default_currency: str
    clock: Clock
