"""The checkout saga end to end over PostgreSQL and NATS: orders, inventory and payments talking
only through their outboxes, JetStream and their inboxes."""

from __future__ import annotations

from mercato.orders import OrderStatus, RejectReason
from tests.service.orders.harness import Checkout

S = OrderStatus


async def test_an_order_that_can_be_paid_is_confirmed_with_stock_committed_and_payment_captured(
    checkout: Checkout,
) -> None:
    sku = await checkout.stocked_sku(5)
    placed = await checkout.orders.handle(checkout.place(sku, 2))
    assert placed.status is S.PENDING

    view = await checkout.settle(placed.id)

    assert (view.status, view.reason) == (S.CONFIRMED, None)
    # Authorize and capture are one step: no PAYMENT_AUTHORIZED on the way.
    assert [h.status for h in view.history] == [S.PENDING, S.STOCK_RESERVED, S.PAYMENT_CAPTURED, S.CONFIRMED]
    assert await checkout.stock(sku) == (3, 0)
    assert await checkout.reservation_status(placed.id) == "COMMITTED"
    assert await checkout.intents(placed.id) == ["CAPTURED"]


async def test_a_declined_card_rejects_the_order_and_puts_the_stock_back(checkout: Checkout) -> None:
    sku = await checkout.stocked_sku(5)
    placed = await checkout.orders.handle(checkout.place(sku, 2, token="tok_decline"))

    view = await checkout.settle(placed.id)

    assert (view.status, view.reason) == (S.REJECTED, RejectReason.PAYMENT_DECLINED)
    assert [h.status for h in view.history] == [S.PENDING, S.STOCK_RESERVED, S.COMPENSATING, S.REJECTED]
    assert await checkout.stock(sku) == (5, 0)
    assert await checkout.reservation_status(placed.id) == "RELEASED"
    assert await checkout.intents(placed.id) == ["FAILED"]  # declined: nothing authorized, nothing captured


async def test_insufficient_funds_is_its_own_reason(checkout: Checkout) -> None:
    sku = await checkout.stocked_sku(1)
    placed = await checkout.orders.handle(checkout.place(sku, 1, token="tok_insufficient_funds"))

    view = await checkout.settle(placed.id)

    assert (view.status, view.reason) == (S.REJECTED, RejectReason.INSUFFICIENT_FUNDS)
    assert await checkout.stock(sku) == (1, 0)


async def test_missing_stock_rejects_the_order_before_any_payment(checkout: Checkout) -> None:
    sku = await checkout.stocked_sku(1)
    placed = await checkout.orders.handle(checkout.place(sku, 2))

    view = await checkout.settle(placed.id)

    assert (view.status, view.reason) == (S.REJECTED, RejectReason.OUT_OF_STOCK)
    assert [h.status for h in view.history] == [S.PENDING, S.REJECTED]
    assert await checkout.stock(sku) == (1, 0)
    assert await checkout.reservation_status(placed.id) is None
    assert await checkout.intents(placed.id) == []  # no authorization was ever asked for


async def test_a_retried_place_order_is_the_same_order_with_one_authorization(checkout: Checkout) -> None:
    sku = await checkout.stocked_sku(5)
    command = checkout.place(sku, 1)
    first = await checkout.orders.handle(command)
    view = await checkout.settle(first.id)

    again = await checkout.orders.handle(command)

    assert again.id == first.id
    assert again.status is S.CONFIRMED  # the order as it stands now
    assert view.status is S.CONFIRMED
    assert await checkout.intents(first.id) == ["CAPTURED"]
    assert await checkout.stock(sku) == (4, 0)
    page = await checkout.orders.queries.orders_for_customer(command.customer_id)
    assert [o.id for o in page.items] == [first.id]
