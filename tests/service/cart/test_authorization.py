"""Who reaches a cart: its owner only, or whoever holds an anonymous cart's id. Anyone else sees
exactly what they would see for a cart that does not exist."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable

import pytest
from redis.asyncio import Redis

from mercato.cart.bootstrap import CartService
from mercato.cart.domain.commands import AddCartLines, CreateCart, RemoveCartLines, UpdateCartLines
from mercato.cart.domain.errors import (
    CartCheckoutErrorCode,
    CartLinesAddErrorCode,
    CartLinesRemoveErrorCode,
    CartLinesUpdateErrorCode,
    CartQueryErrorCode,
)
from mercato.cart.domain.model import CartNotFound
from mercato.catalog.bootstrap import CatalogService
from mercato.platform.auth import Principal
from mercato.platform.config import Settings
from mercato.platform.errors import ClientError, field_errors
from tests.service.cart.conftest import admin, customer, owner_key, skus_priced, stored


async def refusal(
    call: Awaitable[object],
) -> tuple[type[BaseException], list[tuple[str | None, object, str]]]:
    with pytest.raises(ClientError) as caught:
        await call
    return type(caught.value), [(e.field, e.code, e.message) for e in field_errors(caught.value)]


async def attempts(
    carts: CartService, cart_id: uuid.UUID, caller: Principal | None, sku: str
) -> list[object]:
    return [
        await refusal(carts.get(cart_id, caller)),
        await refusal(carts.handle(AddCartLines(cart_id, caller, [(sku, 1)]))),
        await refusal(carts.handle(UpdateCartLines(cart_id, caller, [(sku, 5)]))),
        await refusal(carts.handle(RemoveCartLines(cart_id, caller, [sku]))),
        await refusal(carts.checkout_snapshot(cart_id, caller)),
    ]


NOT_FOUND = [
    (CartNotFound, [("cart_id", CartQueryErrorCode.CART_NOT_FOUND, "no such cart")]),
    (CartNotFound, [("cart_id", CartLinesAddErrorCode.CART_NOT_FOUND, "no such cart")]),
    (CartNotFound, [("cart_id", CartLinesUpdateErrorCode.CART_NOT_FOUND, "no such cart")]),
    (CartNotFound, [("cart_id", CartLinesRemoveErrorCode.CART_NOT_FOUND, "no such cart")]),
    (CartNotFound, [("cart_id", CartCheckoutErrorCode.CART_NOT_FOUND, "no such cart")]),
]


@pytest.mark.parametrize("intruder", [customer, admin, lambda: None], ids=["customer", "admin", "anonymous"])
async def test_nobody_but_the_owner_reaches_an_owned_cart(
    carts: CartService,
    catalog_service: CatalogService,
    redis: Redis,
    settings: Settings,
    intruder: object,
) -> None:
    [sku] = await skus_priced(catalog_service, 100)
    owner = customer()
    cart = await carts.handle(CreateCart(owner))
    await carts.handle(AddCartLines(cart.id, owner, [(sku, 2)]))
    before = await stored(redis, settings, cart.id)
    caller = intruder()  # type: ignore[operator]

    assert await attempts(carts, cart.id, caller, sku) == NOT_FOUND
    # Word for word what a cart that never existed answers: nothing tells the two apart.
    assert await attempts(carts, uuid.uuid4(), caller, sku) == NOT_FOUND
    assert await stored(redis, settings, cart.id) == before
    assert [(line.sku, line.quantity) for line in (await carts.get(cart.id, owner)).lines] == [(sku, 2)]


async def test_an_anonymous_cart_answers_to_whoever_holds_its_id(
    carts: CartService, catalog_service: CatalogService
) -> None:
    [sku] = await skus_priced(catalog_service, 100)
    cart = await carts.handle(CreateCart(None))

    await carts.handle(AddCartLines(cart.id, None, [(sku, 1)]))
    view = await carts.handle(AddCartLines(cart.id, customer(), [(sku, 1)]))

    assert (view.owner_id, [(line.sku, line.quantity) for line in view.lines]) == (None, [(sku, 2)])


async def test_a_customer_has_one_cart_creating_again_returns_it(
    carts: CartService, catalog_service: CatalogService, redis: Redis, settings: Settings
) -> None:
    [sku] = await skus_priced(catalog_service, 100)
    shopper = customer()
    first = await carts.handle(CreateCart(shopper))
    await carts.handle(AddCartLines(first.id, shopper, [(sku, 1)]))

    again = await carts.handle(CreateCart(shopper))
    other = await carts.handle(CreateCart(customer()))

    assert (again.id, again.owner_id, dict(again.lines)) == (first.id, shopper.user_id, {sku: 1})
    assert other.id != first.id
    assert await redis.get(owner_key(settings, shopper.user_id)) == str(first.id).encode()
    ttl = await redis.ttl(owner_key(settings, shopper.user_id))
    assert settings.cart_ttl_seconds - 5 <= ttl <= settings.cart_ttl_seconds
