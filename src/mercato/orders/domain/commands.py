"""Orders use cases, as data. Entrypoints build one and hand it to `OrdersService.handle`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mercato.platform.postal import PostalAddress
from mercato.platform.types import Money


@dataclass(frozen=True)
class PlaceOrder:
    """Check out the cart `cart_id` as priced in `lines` / `total` (the cart's snapshot). The order id
    is derived from (customer, `idempotency_key`), so the same key again returns the order it first
    created and starts nothing new, even once the cart was emptied (`lines` empty). `order_id` may be
    chosen by the caller instead (staff tools, tests)."""

    customer_id: uuid.UUID
    idempotency_key: str
    cart_id: uuid.UUID
    lines: Sequence[tuple[str, int, Money]]  # (sku, quantity, unit price); empty: the cart is empty
    total: Money
    shipping_address: PostalAddress
    payment_method: str  # the vaulted reference (`pm_...`, from payments), never the shopper's token
    order_id: uuid.UUID | None = field(default=None)


@dataclass(frozen=True)
class ExpireSagas:
    """Feed a timeout to up to `limit` sagas whose step deadline is at or before `now`."""

    now: datetime
    limit: int = 100


@dataclass(frozen=True)
class ResumeSaga:
    """Re-arm a parked saga (one that stopped re-sending an undo or refund nobody confirmed): its
    awaited commands go out again at the next sweep. An order whose saga is not parked is left as it
    is (the answer is False)."""

    order_id: uuid.UUID
    actor: str


@dataclass(frozen=True)
class CancelOrder:
    """Cancel an order not shipped yet; its stock and money go back (see `after_purchase`).
    `customer_id`: only that customer's order may be cancelled (None: staff, any order)."""

    order_id: uuid.UUID
    actor: str
    reason: str
    customer_id: uuid.UUID | None = None


@dataclass(frozen=True)
class FulfillOrder:
    """A confirmed order was shipped. The same tracking number again is a no-op."""

    order_id: uuid.UUID
    tracking_number: str
    actor: str


@dataclass(frozen=True)
class RefundOrder:
    """Refund part or all of a paid order. `idempotency_key` is per order: the same key and amount
    again is a no-op."""

    order_id: uuid.UUID
    amount: Money
    idempotency_key: str
    actor: str
