"""The checkout snapshot: a cart priced now, refused unless every line can be bought."""

from __future__ import annotations

import pytest

from mercato.cart.bootstrap import CartService
from mercato.cart.domain.commands import AddCartLines, CreateCart
from mercato.cart.domain.errors import CartCheckoutErrorCode
from mercato.cart.domain.pricing import LineIssue
from mercato.catalog.bootstrap import CatalogService
from mercato.platform.errors import ClientError, field_errors
from mercato.platform.types import Money
from tests.service.cart.conftest import FakeClock, customer, set_price, skus_priced, unpublish


async def test_a_snapshot_lists_lines_at_current_prices(
    carts: CartService, catalog_service: CatalogService, catalog: object, clock: FakeClock
) -> None:
    a, b = await skus_priced(catalog_service, 1999, 500)
    shopper = customer()
    cart = await carts.handle(CreateCart(shopper))
    await carts.handle(AddCartLines(cart.id, shopper, [(a, 2), (b, 1)]))
    await set_price(catalog_service, b, 750)

    shot = await carts.checkout_snapshot(cart.id, shopper)

    assert [(line.sku, line.quantity, line.unit_price, line.total) for line in shot.lines] == [
        (a, 2, Money(1999, "USD"), Money(3998, "USD")),
        (b, 1, Money(750, "USD"), Money(750, "USD")),
    ]
    assert (shot.cart_id, shot.owner_id, shot.total, shot.currency, shot.taken_at) == (
        cart.id,
        shopper.user_id,
        Money(4748, "USD"),
        "USD",
        clock.now,
    )
    assert len({line.product_id for line in shot.lines}) == 1
    assert all(line.product_name.startswith("Product ") for line in shot.lines)


async def test_a_product_unpublished_after_it_was_added_stays_listed_but_blocks_checkout(
    carts: CartService, catalog_service: CatalogService
) -> None:
    [kept] = await skus_priced(catalog_service, 300)
    [hidden] = await skus_priced(catalog_service, 900)
    cart = await carts.handle(CreateCart(None))
    await carts.handle(AddCartLines(cart.id, None, [(kept, 1), (hidden, 2)]))

    await unpublish(catalog_service, hidden)

    view = await carts.get(cart.id, None)
    assert [(line.sku, line.issue, line.unit_price) for line in view.lines] == [
        (kept, None, Money(300, "USD")),
        (hidden, LineIssue.NOT_PURCHASABLE, None),
    ]
    assert (view.total, view.item_count) == (Money(300, "USD"), 3)
    with pytest.raises(ClientError) as caught:
        await carts.checkout_snapshot(cart.id, None)
    assert [(e.field, e.code) for e in field_errors(caught.value)] == [
        ("lines.1.sku", CartCheckoutErrorCode.NOT_PURCHASABLE)
    ]


async def test_an_empty_cart_cannot_be_checked_out(carts: CartService) -> None:
    cart = await carts.handle(CreateCart(None))
    with pytest.raises(ClientError) as caught:
        await carts.checkout_snapshot(cart.id, None)
    assert (caught.value.field, caught.value.code) == ("lines", CartCheckoutErrorCode.CART_EMPTY)
