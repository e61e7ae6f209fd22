"""Creating a cart and changing its lines on real Redis, priced by a real catalog on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable

import pytest
from redis.asyncio import Redis

from mercato.cart.bootstrap import CartService
from mercato.cart.domain.commands import AddCartLines, ClearCart, CreateCart, RemoveCartLines, UpdateCartLines
from mercato.cart.domain.errors import (
    CartLinesAddErrorCode,
    CartLinesRemoveErrorCode,
    CartLinesUpdateErrorCode,
    CartQueryErrorCode,
)
from mercato.catalog.bootstrap import CatalogService
from mercato.platform.config import Settings
from mercato.platform.errors import ClientError, field_errors
from mercato.platform.types import Money
from tests.service.cart.conftest import (
    CountingCatalog,
    FakeClock,
    cart_key,
    set_price,
    skus_priced,
    stored,
)


async def refused(call: Awaitable[object]) -> list[tuple[str | None, object]]:
    with pytest.raises(ClientError) as caught:
        await call
    return [(e.field, e.code) for e in field_errors(caught.value)]


async def test_a_new_anonymous_cart_is_empty_and_costs_nothing(carts: CartService, clock: FakeClock) -> None:
    cart = await carts.handle(CreateCart(None))
    view = await carts.get(cart.id, None)
    assert (cart.owner_id, dict(cart.lines), cart.created_at, cart.updated_at) == (
        None,
        {},
        clock.now,
        clock.now,
    )
    assert cart.id.version == 4
    assert (view.id, view.lines, view.total, view.item_count) == (cart.id, (), Money(0, "USD"), 0)


async def test_lines_are_added_summed_updated_and_removed_in_order(
    carts: CartService, catalog_service: CatalogService
) -> None:
    a, b = await skus_priced(catalog_service, 1250, 400)
    cart = await carts.handle(CreateCart(None))

    await carts.handle(AddCartLines(cart.id, None, [(b, 1), (a, 2)]))
    added = await carts.handle(AddCartLines(cart.id, None, [(a, 1)]))
    assert [(line.sku, line.quantity, line.unit_price, line.total) for line in added.lines] == [
        (b, 1, Money(400, "USD"), Money(400, "USD")),
        (a, 3, Money(1250, "USD"), Money(3750, "USD")),
    ]
    assert (added.total, added.item_count) == (Money(4150, "USD"), 4)
    assert {line.product_name for line in added.lines} == {added.lines[0].product_name}
    assert added.lines[0].product_name is not None and added.lines[0].product_name.startswith("Product ")

    updated = await carts.handle(UpdateCartLines(cart.id, None, [(a, 1)]))
    assert [(line.sku, line.quantity) for line in updated.lines] == [(b, 1), (a, 1)]
    assert updated.total == Money(1650, "USD")

    removed = await carts.handle(RemoveCartLines(cart.id, None, [b, "NOT-IN-CART"]))
    assert [(line.sku, line.quantity) for line in removed.lines] == [(a, 1)]
    assert removed.total == Money(1250, "USD")
    assert await carts.get(cart.id, None) == removed


async def test_the_total_follows_a_price_change(carts: CartService, catalog_service: CatalogService) -> None:
    [sku] = await skus_priced(catalog_service, 1000)
    cart = await carts.handle(CreateCart(None))
    await carts.handle(AddCartLines(cart.id, None, [(sku, 3)]))

    await set_price(catalog_service, sku, 1500)

    view = await carts.get(cart.id, None)
    assert (view.lines[0].unit_price, view.lines[0].total, view.total) == (
        Money(1500, "USD"),
        Money(4500, "USD"),
        Money(4500, "USD"),
    )


async def test_an_unknown_sku_and_an_unpublished_product_are_refused_and_nothing_is_written(
    carts: CartService, catalog_service: CatalogService, redis: Redis, settings: Settings
) -> None:
    [known] = await skus_priced(catalog_service, 100)
    [hidden] = await skus_priced(catalog_service, 100, published=False)
    cart = await carts.handle(CreateCart(None))
    await carts.handle(AddCartLines(cart.id, None, [(known, 1)]))
    before = await stored(redis, settings, cart.id)

    errors = await refused(
        carts.handle(AddCartLines(cart.id, None, [(known, 1), ("NO-SUCH-SKU-X1", 1), (hidden, 2)]))
    )

    assert errors == [
        ("lines.1.sku", CartLinesAddErrorCode.UNKNOWN_SKU),
        ("lines.2.sku", CartLinesAddErrorCode.NOT_PURCHASABLE),
    ]
    assert await stored(redis, settings, cart.id) == before


async def test_quantities_must_stay_between_one_and_the_maximum(
    carts: CartService, catalog_service: CatalogService, redis: Redis, settings: Settings
) -> None:
    [sku] = await skus_priced(catalog_service, 100)
    cart = await carts.handle(CreateCart(None))
    await carts.handle(AddCartLines(cart.id, None, [(sku, 98)]))
    before = await stored(redis, settings, cart.id)

    assert await refused(carts.handle(AddCartLines(cart.id, None, [(sku, 0)]))) == [
        ("lines.0.quantity", CartLinesAddErrorCode.QUANTITY_OUT_OF_RANGE)
    ]
    assert await refused(carts.handle(AddCartLines(cart.id, None, [(sku, 2)]))) == [
        ("lines.0.quantity", CartLinesAddErrorCode.QUANTITY_OUT_OF_RANGE)
    ]
    assert await refused(carts.handle(UpdateCartLines(cart.id, None, [(sku, 100)]))) == [
        ("lines.0.quantity", CartLinesUpdateErrorCode.QUANTITY_OUT_OF_RANGE)
    ]
    assert await refused(carts.handle(UpdateCartLines(cart.id, None, [(sku, 0)]))) == [
        ("lines.0.quantity", CartLinesUpdateErrorCode.QUANTITY_OUT_OF_RANGE)
    ]
    assert await stored(redis, settings, cart.id) == before
    assert [
        (line.quantity) for line in (await carts.handle(AddCartLines(cart.id, None, [(sku, 1)]))).lines
    ] == [99]


async def test_a_cart_holds_at_most_the_maximum_number_of_lines(
    redis: Redis, catalog: CountingCatalog, settings: Settings, catalog_service: CatalogService
) -> None:
    carts = CartService(redis, catalog, settings.model_copy(update={"cart_max_lines": 2}))
    a, b, c = await skus_priced(catalog_service, 100, 200, 300)
    cart = await carts.handle(CreateCart(None))
    await carts.handle(AddCartLines(cart.id, None, [(a, 1), (b, 1)]))

    assert await refused(carts.handle(AddCartLines(cart.id, None, [(c, 1)]))) == [
        ("lines", CartLinesAddErrorCode.TOO_MANY_LINES)
    ]
    # More of a line already there is fine in a full cart.
    view = await carts.handle(AddCartLines(cart.id, None, [(a, 1)]))
    assert [(line.sku, line.quantity) for line in view.lines] == [(a, 2), (b, 1)]


async def test_updating_a_line_that_is_not_in_the_cart_changes_nothing(
    carts: CartService, catalog_service: CatalogService, redis: Redis, settings: Settings
) -> None:
    a, b = await skus_priced(catalog_service, 100, 200)
    cart = await carts.handle(CreateCart(None))
    await carts.handle(AddCartLines(cart.id, None, [(a, 1)]))
    before = await stored(redis, settings, cart.id)

    errors = await refused(carts.handle(UpdateCartLines(cart.id, None, [(a, 5), (b, 1)])))

    assert errors == [("lines.1.sku", CartLinesUpdateErrorCode.LINE_NOT_FOUND)]
    assert await stored(redis, settings, cart.id) == before


async def test_a_cart_that_expired_or_never_was_is_not_found(
    carts: CartService, redis: Redis, settings: Settings
) -> None:
    cart = await carts.handle(CreateCart(None))
    await redis.delete(cart_key(settings, cart.id))

    for cart_id in (cart.id, uuid.uuid4()):
        assert await refused(carts.get(cart_id, None)) == [("cart_id", CartQueryErrorCode.CART_NOT_FOUND)]
        assert await refused(carts.handle(AddCartLines(cart_id, None, [("ANY-1", 1)]))) == [
            ("cart_id", CartLinesAddErrorCode.CART_NOT_FOUND)
        ]
        assert await refused(carts.handle(RemoveCartLines(cart_id, None, ["ANY-1"]))) == [
            ("cart_id", CartLinesRemoveErrorCode.CART_NOT_FOUND)
        ]
    assert await redis.exists(cart_key(settings, cart.id)) == 0


async def test_every_write_sets_the_expiry_again(
    carts: CartService, catalog_service: CatalogService, redis: Redis, settings: Settings, clock: FakeClock
) -> None:
    [sku] = await skus_priced(catalog_service, 100)
    cart = await carts.handle(CreateCart(None))
    key = cart_key(settings, cart.id)
    assert settings.cart_ttl_seconds - 5 <= await redis.ttl(key) <= settings.cart_ttl_seconds

    for write in (
        lambda: carts.handle(AddCartLines(cart.id, None, [(sku, 1)])),
        lambda: carts.handle(UpdateCartLines(cart.id, None, [(sku, 3)])),
        lambda: carts.handle(RemoveCartLines(cart.id, None, [sku])),
        lambda: carts.handle(ClearCart(cart.id)),
    ):
        await redis.expire(key, 100)
        clock.advance(60)
        await write()
        assert settings.cart_ttl_seconds - 5 <= await redis.ttl(key) <= settings.cart_ttl_seconds
        assert (await stored(redis, settings, cart.id))["m:updated"] == clock.now.isoformat()


async def test_reads_do_not_extend_a_cart_or_change_it(
    carts: CartService, redis: Redis, settings: Settings
) -> None:
    cart = await carts.handle(CreateCart(None))
    await redis.expire(cart_key(settings, cart.id), 100)
    before = await stored(redis, settings, cart.id)

    await carts.get(cart.id, None)

    assert await redis.ttl(cart_key(settings, cart.id)) <= 100
    assert await stored(redis, settings, cart.id) == before


async def test_clearing_empties_a_cart_but_keeps_it_and_is_idempotent(
    carts: CartService, catalog_service: CatalogService
) -> None:
    [sku] = await skus_priced(catalog_service, 100)
    cart = await carts.handle(CreateCart(None))
    await carts.handle(AddCartLines(cart.id, None, [(sku, 2)]))

    await carts.handle(ClearCart(cart.id))
    await carts.handle(ClearCart(cart.id))
    await carts.handle(ClearCart(uuid.uuid4()))

    view = await carts.get(cart.id, None)
    assert (view.lines, view.item_count) == ((), 0)
    readded = await carts.handle(AddCartLines(cart.id, None, [(sku, 1)]))
    assert [(line.sku, line.quantity) for line in readded.lines] == [(sku, 1)]
