"""Pricing a cart from catalog entries, and the checkout snapshot's refusals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from mercato.cart.domain.errors import CartProblem
from mercato.cart.domain.model import Cart
from mercato.cart.domain.pricing import CatalogEntry, LineIssue, price, snapshot
from mercato.platform.errors import Conflict, InputRejected
from mercato.platform.types import Money

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def a_cart(lines: dict[str, int]) -> Cart:
    return Cart(id=uuid.uuid4(), owner_id=None, lines=lines, created_at=NOW, updated_at=NOW)


def entry(sku: str, amount: int, currency: str = "USD", *, published: bool = True) -> CatalogEntry:
    return CatalogEntry(
        sku=sku,
        variant_id=uuid.uuid4(),
        product_id=uuid.uuid4(),
        unit_price=Money(amount, currency),
        published=published,
        product_name=f"Product {sku}" if published else None,
    )


def test_lines_and_total_come_from_the_given_prices() -> None:
    cart = a_cart({"A": 2, "B": 3})
    view = price(cart, {"A": entry("A", 1250), "B": entry("B", 100)}, "USD")
    assert [(line.sku, line.quantity, line.unit_price, line.total) for line in view.lines] == [
        ("A", 2, Money(1250, "USD"), Money(2500, "USD")),
        ("B", 3, Money(100, "USD"), Money(300, "USD")),
    ]
    assert (view.total, view.item_count, view.currency) == (Money(2800, "USD"), 5, "USD")
    assert [line.product_name for line in view.lines] == ["Product A", "Product B"]


def test_an_empty_cart_costs_zero_in_the_default_currency() -> None:
    view = price(a_cart({}), {}, "EUR")
    assert (view.lines, view.total, view.item_count) == ((), Money(0, "EUR"), 0)


def test_unavailable_lines_stay_listed_but_count_in_no_total() -> None:
    cart = a_cart({"A": 1, "GONE": 4, "HIDDEN": 2, "YEN": 1})
    entries = {
        "A": entry("A", 500),
        "HIDDEN": entry("HIDDEN", 900, published=False),
        "YEN": entry("YEN", 300, "JPY"),
    }
    view = price(cart, entries, "USD")
    assert [(line.sku, line.issue, line.available) for line in view.lines] == [
        ("A", None, True),
        ("GONE", LineIssue.UNKNOWN_SKU, False),
        ("HIDDEN", LineIssue.NOT_PURCHASABLE, False),
        ("YEN", LineIssue.CURRENCY_MISMATCH, False),
    ]
    # An unpublished product's price is not shown; the items still count in the badge.
    assert (view.lines[2].unit_price, view.lines[2].total) == (None, None)
    assert (view.total, view.item_count) == (Money(500, "USD"), 8)


def test_the_cart_currency_is_that_of_its_first_purchasable_line() -> None:
    cart = a_cart({"HIDDEN": 1, "E": 2})
    view = price(cart, {"HIDDEN": entry("HIDDEN", 1, published=False), "E": entry("E", 700, "EUR")}, "USD")
    assert view.total == Money(1400, "EUR")


def test_a_snapshot_of_a_purchasable_cart_lists_every_line_priced() -> None:
    cart = a_cart({"A": 2})
    a = entry("A", 1999)
    shot = snapshot(price(cart, {"A": a}, "USD"), NOW)
    assert [
        (line.sku, line.variant_id, line.product_id, line.quantity, line.unit_price, line.total)
        for line in shot.lines
    ] == [("A", a.variant_id, a.product_id, 2, Money(1999, "USD"), Money(3998, "USD"))]
    assert (shot.cart_id, shot.total, shot.currency, shot.taken_at) == (
        cart.id,
        Money(3998, "USD"),
        "USD",
        NOW,
    )


def test_a_snapshot_refuses_an_empty_cart() -> None:
    with pytest.raises(Conflict) as caught:
        snapshot(price(a_cart({}), {}, "USD"), NOW)
    assert caught.value.code is CartProblem.CART_EMPTY


def test_a_snapshot_names_every_line_that_cannot_be_bought() -> None:
    cart = a_cart({"A": 1, "GONE": 1, "HIDDEN": 1})
    view = price(cart, {"A": entry("A", 1), "HIDDEN": entry("HIDDEN", 1, published=False)}, "USD")
    with pytest.raises(InputRejected) as caught:
        snapshot(view, NOW)
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("lines.1.sku", CartProblem.UNKNOWN_SKU),
        ("lines.2.sku", CartProblem.NOT_PURCHASABLE),
    ]
