"""Concurrent writers lose nothing; catalog calls and Redis round trips per operation are pinned."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from mercato.cart.bootstrap import CartService
from mercato.cart.domain.commands import (
    AddCartLines,
    ClearCart,
    CreateCart,
    MergeCartOnLogin,
    RemoveCartLines,
    UpdateCartLines,
)
from mercato.cart.domain.errors import CartLinesAddErrorCode
from mercato.cart.domain.pricing import CartView
from mercato.catalog.bootstrap import CatalogService
from mercato.platform.config import Settings
from mercato.platform.errors import ClientError
from tests.service.cart.conftest import CommandLog, CountingCatalog, customer, skus_priced, stored


async def test_fifty_concurrent_adds_of_one_unit_make_fifty(
    redis: Redis, catalog: CountingCatalog, settings: Settings, catalog_service: CatalogService
) -> None:
    carts = CartService(redis, catalog, settings.model_copy(update={"cart_max_quantity": 1_000}))
    [sku] = await skus_priced(catalog_service, 100)
    cart = await carts.handle(CreateCart(None))

    await asyncio.gather(*(carts.handle(AddCartLines(cart.id, None, [(sku, 1)])) for _ in range(50)))

    assert (await carts.get(cart.id, None)).lines[0].quantity == 50
    assert (await stored(redis, settings, cart.id))[f"l:{sku}"] == "50"


async def test_concurrent_adds_never_push_a_line_past_the_maximum(
    redis: Redis, catalog: CountingCatalog, settings: Settings, catalog_service: CatalogService
) -> None:
    carts = CartService(redis, catalog, settings.model_copy(update={"cart_max_quantity": 10}))
    [sku] = await skus_priced(catalog_service, 100)
    cart = await carts.handle(CreateCart(None))

    outcomes = await asyncio.gather(
        *(carts.handle(AddCartLines(cart.id, None, [(sku, 1)])) for _ in range(30)), return_exceptions=True
    )

    lost = [o for o in outcomes if not isinstance(o, CartView)]
    assert len(lost) == 20
    assert all(
        isinstance(e, ClientError) and e.code is CartLinesAddErrorCode.QUANTITY_OUT_OF_RANGE for e in lost
    )
    assert (await carts.get(cart.id, None)).lines[0].quantity == 10


async def test_concurrent_adds_of_different_skus_never_exceed_the_maximum_lines(
    redis: Redis, catalog: CountingCatalog, settings: Settings, catalog_service: CatalogService
) -> None:
    carts = CartService(redis, catalog, settings.model_copy(update={"cart_max_lines": 3}))
    skus = await skus_priced(catalog_service, *range(100, 110))
    cart = await carts.handle(CreateCart(None))

    outcomes = await asyncio.gather(
        *(carts.handle(AddCartLines(cart.id, None, [(sku, 1)])) for sku in skus), return_exceptions=True
    )

    lost = [o for o in outcomes if not isinstance(o, CartView)]
    assert len(lost) == 7
    assert all(isinstance(e, ClientError) and e.code is CartLinesAddErrorCode.TOO_MANY_LINES for e in lost)
    assert len((await carts.get(cart.id, None)).lines) == 3


async def test_a_read_makes_one_catalog_call_of_one_statement_whatever_the_lines(
    carts: CartService, catalog: CountingCatalog, catalog_service: CatalogService
) -> None:
    skus = await skus_priced(catalog_service, 100, 200, 300) + await skus_priced(catalog_service, 400, 500)
    cart = await carts.handle(CreateCart(None))
    empty = await carts.get(cart.id, None)
    assert (empty.lines, catalog.calls) == ((), [])

    await carts.handle(AddCartLines(cart.id, None, [(sku, 1) for sku in skus]))
    assert catalog.calls == ["sku_prices"]

    catalog.calls.clear()
    view = await carts.get(cart.id, None)
    assert len(view.lines) == 5
    assert catalog.calls == ["sku_prices"]

    catalog.calls.clear()
    with catalog_service.db.count_statements() as counter:
        await carts.checkout_snapshot(cart.id, None)
    assert (catalog.calls, counter.count) == (["sku_prices"], 1)


async def test_redis_round_trips_per_operation(
    command_log: CommandLog, catalog: CountingCatalog, settings: Settings, catalog_service: CatalogService
) -> None:
    carts = CartService(command_log.client, catalog, settings)
    a, b = await skus_priced(catalog_service, 100, 200)
    shopper = customer()
    # Load every script once: a first call may add a SCRIPT LOAD.
    warm = await carts.handle(CreateCart(None))
    await carts.handle(AddCartLines(warm.id, None, [(a, 1)]))
    await carts.handle(UpdateCartLines(warm.id, None, [(a, 2)]))
    await carts.handle(RemoveCartLines(warm.id, None, [a]))
    await carts.handle(MergeCartOnLogin(warm.id, customer()))
    await carts.handle(ClearCart(warm.id))

    async def trips(operation: object) -> list[str]:
        command_log.commands.clear()
        await operation  # type: ignore[misc]
        return list(command_log.commands)

    anonymous = await carts.handle(CreateCart(None))
    assert await trips(carts.handle(CreateCart(shopper))) == ["EVALSHA"]
    assert await trips(carts.get(anonymous.id, None)) == ["HGETALL"]
    assert await trips(carts.handle(AddCartLines(anonymous.id, None, [(a, 1), (b, 1)]))) == [
        "HGETALL",
        "EVALSHA",
    ]
    assert await trips(carts.handle(UpdateCartLines(anonymous.id, None, [(a, 3)]))) == ["EVALSHA"]
    assert await trips(carts.handle(RemoveCartLines(anonymous.id, None, [b]))) == ["EVALSHA"]
    assert await trips(carts.checkout_snapshot(anonymous.id, None)) == ["HGETALL"]
    assert await trips(carts.handle(MergeCartOnLogin(anonymous.id, shopper))) == ["EVALSHA"]
    assert await trips(carts.handle(ClearCart(anonymous.id))) == ["EVALSHA"]
