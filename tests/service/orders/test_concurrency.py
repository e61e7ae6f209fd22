"""Fifty customers race for ten units: exactly ten orders are confirmed, the others are rejected
for stock before any payment is asked for."""

from __future__ import annotations

import asyncio
from collections import Counter

from mercato.orders import OrderStatus, RejectReason
from tests.service.orders.harness import Checkout


async def test_fifty_concurrent_orders_for_ten_units_confirm_exactly_ten(checkout: Checkout) -> None:
    sku = await checkout.stocked_sku(10)

    placed = await asyncio.gather(*(checkout.orders.handle(checkout.place(sku, 1)) for _ in range(50)))
    views = await checkout.settle_all([order.id for order in placed])

    outcomes = Counter((v.status, v.reason) for v in views)
    assert outcomes == {
        (OrderStatus.CONFIRMED, None): 10,
        (OrderStatus.REJECTED, RejectReason.OUT_OF_STOCK): 40,
    }
    assert await checkout.stock(sku) == (0, 0)
    intents = {v.id: await checkout.intents(v.id) for v in views}
    confirmed = {v.id for v in views if v.status is OrderStatus.CONFIRMED}
    assert all(intents[i] == ["CAPTURED"] for i in confirmed)
    assert all(intents[v.id] == [] for v in views if v.id not in confirmed)
    assert not [i for i, statuses in intents.items() if "AUTHORIZED" in statuses]
