"""Signing in with an anonymous cart: its lines join the customer's cart, or it becomes theirs."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from mercato.cart.bootstrap import CartService
from mercato.cart.domain.commands import AddCartLines, CreateCart, MergeCartOnLogin
from mercato.cart.domain.errors import CartMergeErrorCode
from mercato.catalog.bootstrap import CatalogService
from mercato.platform.config import Settings
from mercato.platform.errors import ClientError
from tests.service.cart.conftest import CountingCatalog, cart_key, customer, owner_key, skus_priced, stored


async def test_merging_sums_quantities_caps_them_and_deletes_the_anonymous_cart(
    carts: CartService, catalog_service: CatalogService, redis: Redis, settings: Settings
) -> None:
    x, y, z = await skus_priced(catalog_service, 100, 200, 300)
    shopper = customer()
    own = await carts.handle(CreateCart(shopper))
    await carts.handle(AddCartLines(own.id, shopper, [(x, 2), (y, 1)]))
    anonymous = await carts.handle(CreateCart(None))
    await carts.handle(AddCartLines(anonymous.id, None, [(z, 4), (x, 98)]))

    merged = await carts.handle(MergeCartOnLogin(anonymous.id, shopper))

    assert (merged.id, merged.owner_id) == (own.id, shopper.user_id)
    assert dict(merged.lines) == {x: 99, y: 1, z: 4}
    assert list(merged.lines) == [x, y, z]
    assert await redis.exists(cart_key(settings, anonymous.id)) == 0
    assert await redis.get(owner_key(settings, shopper.user_id)) == str(own.id).encode()
    assert [(line.sku, line.quantity) for line in (await carts.get(own.id, shopper)).lines] == [
        (x, 99),
        (y, 1),
        (z, 4),
    ]


async def test_without_a_cart_of_their_own_the_anonymous_cart_becomes_the_customers(
    carts: CartService, catalog_service: CatalogService, redis: Redis, settings: Settings
) -> None:
    [sku] = await skus_priced(catalog_service, 100)
    shopper = customer()
    anonymous = await carts.handle(CreateCart(None))
    await carts.handle(AddCartLines(anonymous.id, None, [(sku, 3)]))

    adopted = await carts.handle(MergeCartOnLogin(anonymous.id, shopper))

    assert (adopted.id, adopted.owner_id, dict(adopted.lines)) == (anonymous.id, shopper.user_id, {sku: 3})
    assert await redis.get(owner_key(settings, shopper.user_id)) == str(anonymous.id).encode()
    assert (await carts.handle(CreateCart(shopper))).id == anonymous.id
    # Owned now: the id alone no longer opens it.
    with pytest.raises(ClientError):
        await carts.get(anonymous.id, None)


async def test_merging_keeps_the_customers_cart_within_the_maximum_lines(
    redis: Redis, catalog: CountingCatalog, settings: Settings, catalog_service: CatalogService
) -> None:
    carts = CartService(redis, catalog, settings.model_copy(update={"cart_max_lines": 3}))
    a, b, c, d = await skus_priced(catalog_service, 100, 200, 300, 400)
    shopper = customer()
    own = await carts.handle(CreateCart(shopper))
    await carts.handle(AddCartLines(own.id, shopper, [(a, 1), (b, 1)]))
    anonymous = await carts.handle(CreateCart(None))
    await carts.handle(AddCartLines(anonymous.id, None, [(c, 1), (a, 1), (d, 1)]))

    merged = await carts.handle(MergeCartOnLogin(anonymous.id, shopper))

    assert dict(merged.lines) == {a: 2, b: 1, c: 1}


async def test_someone_elses_cart_or_a_missing_one_cannot_be_merged(
    carts: CartService, catalog_service: CatalogService, redis: Redis, settings: Settings
) -> None:
    [sku] = await skus_priced(catalog_service, 100)
    victim, thief = customer(), customer()
    owned = await carts.handle(CreateCart(victim))
    await carts.handle(AddCartLines(owned.id, victim, [(sku, 1)]))
    before = await stored(redis, settings, owned.id)

    for cart_id in (owned.id, uuid.uuid4()):
        with pytest.raises(ClientError) as caught:
            await carts.handle(MergeCartOnLogin(cart_id, thief))
        assert (caught.value.field, caught.value.code) == ("cart_id", CartMergeErrorCode.CART_NOT_FOUND)

    assert await stored(redis, settings, owned.id) == before
    assert await redis.exists(owner_key(settings, thief.user_id)) == 0


async def test_merging_ones_own_cart_again_returns_it_unchanged(
    carts: CartService, catalog_service: CatalogService
) -> None:
    [sku] = await skus_priced(catalog_service, 100)
    shopper = customer()
    own = await carts.handle(CreateCart(shopper))
    await carts.handle(AddCartLines(own.id, shopper, [(sku, 2)]))

    again = await carts.handle(MergeCartOnLogin(own.id, shopper))

    assert (again.id, dict(again.lines)) == (own.id, {sku: 2})
