"""Input checks of PlaceOrder and what counts as a retry of the same order."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from enum import Enum

import pytest

from mercato.orders import OrderStatus, PlaceOrder, PlaceOrderErrorCode
from mercato.orders.domain.model import Order, order_id_for
from mercato.platform.errors import InputRejected
from mercato.platform.postal import PostalAddress
from mercato.platform.types import Money

NOW = datetime(2030, 1, 1, tzinfo=UTC)
CUSTOMER = uuid.UUID(int=3)
CART = uuid.UUID(int=4)
ADDRESS = PostalAddress(first_name="Ann", last_name="Lee", line1="1 Main St", city="Lyon", country="FR")


def place(**changes: object) -> PlaceOrder:
    cmd = PlaceOrder(
        customer_id=CUSTOMER,
        cart_id=CART,
        lines=[("SKU-1", 2, Money(1000, "EUR")), ("SKU-2", 1, Money(500, "EUR"))],
        total=Money(2500, "EUR"),
        shipping_address=ADDRESS,
        payment_method="tok_ok",
        idempotency_key="k-1",
    )
    return replace(cmd, **changes)  # type: ignore[arg-type]


def problems(cmd: PlaceOrder) -> list[tuple[str | None, Enum]]:
    with pytest.raises(InputRejected) as caught:
        Order.place(cmd, now=NOW)
    return [(e.field, e.code) for e in caught.value.errors]


def test_a_valid_order_is_pending_with_its_lines() -> None:
    order = Order.place(place(), now=NOW)
    assert order.status is OrderStatus.PENDING
    assert [(line.sku, line.quantity, line.subtotal) for line in order.lines] == [
        ("SKU-1", 2, Money(2000, "EUR")),
        ("SKU-2", 1, Money(500, "EUR")),
    ]
    assert (order.total, order.created_at, order.reason) == (Money(2500, "EUR"), NOW, None)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"lines": []}, [("lines", PlaceOrderErrorCode.REQUIRED)]),
        ({"total": Money(2400, "EUR")}, [("total", PlaceOrderErrorCode.TOTAL_MISMATCH)]),
        (
            {"lines": [("SKU-1", 2, Money(1000, "USD")), ("SKU-2", 1, Money(500, "EUR"))]},
            [("lines.0.unitPrice", PlaceOrderErrorCode.CURRENCY_MISMATCH)],
        ),
        (
            {"lines": [("bad sku", 0, Money(1000, "EUR"))], "total": Money(0, "EUR")},
            [
                ("lines.0.sku", PlaceOrderErrorCode.INVALID),
                ("lines.0.quantity", PlaceOrderErrorCode.OUT_OF_RANGE),
                ("total", PlaceOrderErrorCode.OUT_OF_RANGE),
            ],
        ),
        ({"payment_method": " "}, [("paymentToken", PlaceOrderErrorCode.REQUIRED)]),
        ({"idempotency_key": "k" * 201}, [("idempotencyKey", PlaceOrderErrorCode.TOO_LONG)]),
        (
            {"shipping_address": replace(ADDRESS, line1=" ", country="XX")},
            [
                ("shippingAddress.line1", PlaceOrderErrorCode.REQUIRED),
                ("shippingAddress.country", PlaceOrderErrorCode.INVALID),
            ],
        ),
        (
            {"shipping_address": replace(ADDRESS, city="Ly\x00on", postal_code="6900!")},
            [
                ("shippingAddress.city", PlaceOrderErrorCode.INVALID),
                ("shippingAddress.postal_code", PlaceOrderErrorCode.INVALID),
            ],
        ),
    ],
)
def test_input_problems_are_all_reported_with_the_mutation_codes(
    changes: dict[str, object], expected: list[tuple[str, PlaceOrderErrorCode]]
) -> None:
    assert problems(place(**changes)) == expected


def test_a_retry_is_the_same_cart_and_content_under_the_same_key() -> None:
    order = Order.place(place(), now=NOW)
    assert order.id == order_id_for(CUSTOMER, "k-1")
    assert order.cart_id == CART
    assert order.answers(place())
    assert order.answers(place(order_id=order.id))
    assert order.answers(place(shipping_address=replace(ADDRESS, country=" fr ")))  # normalized alike
    assert not order.answers(place(order_id=uuid.UUID(int=2)))
    assert not order.answers(place(total=Money(3500, "EUR"), lines=[("SKU-1", 3, Money(1000, "EUR"))]))
    assert not order.answers(place(shipping_address=replace(ADDRESS, city="Paris")))
    assert not order.answers(place(cart_id=uuid.UUID(int=5)))


def test_a_retry_whose_cart_lost_lines_to_a_confirmation_asks_for_the_same_order() -> None:
    # Given an order of two lines (the shopper checked out again while an earlier order holding the
    # first line was still PENDING: both bought it)
    lines = [("SKU-1", 1, Money(1000, "EUR")), ("SKU-2", 2, Money(500, "EUR"))]
    order = Order.place(place(lines=lines, total=Money(2000, "EUR")), now=NOW)

    # Then a retry reading the cart after the earlier order's confirmation took SKU-1 out is this
    # order, and so is one after a price change; one holding more, or another SKU, is not
    assert order.answers(place(lines=[("SKU-2", 2, Money(500, "EUR"))], total=Money(1000, "EUR")))
    assert order.answers(place(lines=[("SKU-2", 2, Money(550, "EUR"))], total=Money(1100, "EUR")))
    assert not order.answers(place(lines=[("SKU-2", 3, Money(500, "EUR"))], total=Money(1500, "EUR")))
    assert not order.answers(
        place(
            lines=[("SKU-2", 2, Money(500, "EUR")), ("SKU-3", 1, Money(100, "EUR"))], total=Money(1100, "EUR")
        )
    )


def test_a_retry_from_the_emptied_cart_asks_for_the_same_order() -> None:
    order = Order.place(place(), now=NOW)
    assert order.answers(place(lines=[], total=Money(0, "EUR")))
    assert not order.answers(place(lines=[], total=Money(0, "EUR"), cart_id=uuid.UUID(int=5)))


def test_the_order_id_is_derived_from_customer_and_key() -> None:
    assert order_id_for(CUSTOMER, "k-1") == order_id_for(CUSTOMER, "k-1")
    assert order_id_for(CUSTOMER, "k-1") != order_id_for(CUSTOMER, "k-2")
    assert order_id_for(CUSTOMER, "k-1") != order_id_for(uuid.UUID(int=9), "k-1")


def test_the_address_is_stored_normalized() -> None:
    order = Order.place(place(shipping_address=replace(ADDRESS, country="fr", city=" Lyon ")), now=NOW)
    assert order.shipping_address == {**ADDRESS.to_document(), "country": "FR", "city": "Lyon"}
