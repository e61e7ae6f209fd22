"""Orders use cases, as data. Entrypoints build one and hand it to `OrdersService.handle`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mercato.platform.types import Money


@dataclass(frozen=True)
class PlaceOrder:
    """Start a checkout. `idempotency_key` is unique per customer: the same key again returns the
    order it first created (and starts nothing new). `order_id` may be chosen by the caller."""

    customer_id: uuid.UUID
    lines: Sequence[tuple[str, int, Money]]  # (sku, quantity, unit price)
    total: Money
    shipping_address: Mapping[str, Any]
    payment_token: str
    idempotency_key: str
    order_id: uuid.UUID | None = field(default=None)


@dataclass(frozen=True)
class ExpireSagas:
    """Feed a timeout to up to `limit` sagas whose step deadline is at or before `now`."""

    now: datetime
    limit: int = 100
