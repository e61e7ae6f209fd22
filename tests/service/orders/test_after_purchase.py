"""Cancelling and refunding through the running consumers: the compensation goes over NATS."""

from __future__ import annotations

from mercato.orders import OrderStatus
from mercato.orders.domain.commands import CancelOrder, RefundOrder
from mercato.platform.types import Money
from tests.service.orders.harness import Checkout

S = OrderStatus


async def test_cancelling_a_confirmed_order_refunds_it_and_restocks(checkout: Checkout) -> None:
    sku = await checkout.stocked_sku(5)
    placed = await checkout.orders.handle(checkout.place(sku, 2))
    await checkout.settle(placed.id)
    assert await checkout.stock(sku) == (3, 0)

    cancel = CancelOrder(
        order_id=placed.id, actor="customer", reason="too late", customer_id=placed.customer_id
    )
    await checkout.orders.handle(cancel)
    await checkout.wait_status(placed.id, S.CANCELLED)
    await checkout.orders.handle(cancel)  # a retry: nothing more happens
    await checkout.idle()

    view = await checkout.orders.queries.order(placed.id)
    assert view is not None
    assert [h.status for h in view.history][-2:] == [S.CANCELLING, S.CANCELLED]
    assert (view.history[-1].actor, view.history[-1].note) == ("customer", "too late")
    assert view.refunded == Money(2500, "EUR")
    assert await checkout.stock(sku) == (5, 0)
    assert await checkout.intents(placed.id) == ["REFUNDED"]
    [net] = await checkout.payments.queries.reconcile(str(placed.id))
    assert net.net == 0


async def test_a_partial_refund_then_the_rest(checkout: Checkout) -> None:
    sku = await checkout.stocked_sku(5)
    placed = await checkout.orders.handle(checkout.place(sku, 2))
    await checkout.settle(placed.id)

    part = RefundOrder(order_id=placed.id, amount=Money(1000, "EUR"), idempotency_key="a", actor="staff")
    assert await checkout.orders.handle(part) is True
    await checkout.wait_status(placed.id, S.PARTIALLY_REFUNDED)
    assert await checkout.orders.handle(part) is False  # a retry
    rest = RefundOrder(order_id=placed.id, amount=Money(1500, "EUR"), idempotency_key="b", actor="staff")
    await checkout.orders.handle(rest)
    await checkout.wait_status(placed.id, S.REFUNDED)
    await checkout.idle()

    [net] = await checkout.payments.queries.reconcile(str(placed.id))
    assert (net.captured, net.refunded) == (2500, 2500)
    assert await checkout.stock(sku) == (3, 0)  # a refund alone does not restock
