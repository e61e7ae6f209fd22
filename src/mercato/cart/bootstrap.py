"""Wires the cart: the Redis store, the catalog it prices with, the limits and the wall clock.

This is the only module of the cart that knows the concrete store and reads the clock.
"""

from __future__ import annotations

import uuid
from typing import Any, overload

from redis.asyncio import Redis

from mercato.cart.adapters.redis_store import RedisCartStore
from mercato.cart.domain import commands
from mercato.cart.domain.model import Cart, CartLimits
from mercato.cart.domain.pricing import CartSnapshot, CartView
from mercato.cart.service_layer import carts
from mercato.cart.service_layer.dispatch import COMMAND_HANDLERS
from mercato.cart.service_layer.ports import CartDeps, CatalogPort, Clock
from mercato.platform.auth import Principal
from mercato.platform.clock import utc_now
from mercato.platform.config import Settings

CONTEXT = "cart"


class CartService:
    """The cart's facade for entrypoints and the in-process client: `handle(command)` and the two
    reads. `catalog` is any `CatalogClient` (it satisfies `CatalogPort`)."""

    context = CONTEXT

    def __init__(
        self, redis: Redis, catalog: CatalogPort, settings: Settings, *, clock: Clock = utc_now
    ) -> None:
        self.deps = CartDeps(
            store=RedisCartStore(redis, settings.namespace, settings.cart_ttl_seconds),
            catalog=catalog,
            limits=CartLimits(max_lines=settings.cart_max_lines, max_quantity=settings.cart_max_quantity),
            default_currency=settings.default_currency,
            clock=clock,
        )

    @overload
    async def handle(self, cmd: commands.CreateCart | commands.MergeCartOnLogin) -> Cart: ...
    @overload
    async def handle(
        self, cmd: commands.AddCartLines | commands.UpdateCartLines | commands.RemoveCartLines
    ) -> CartView: ...
    @overload
    async def handle(self, cmd: commands.ClearCart) -> None: ...
    @overload
    async def handle(self, cmd: commands.RemoveBoughtLines) -> bool: ...

    async def handle(self, cmd: Any) -> Any:
        """Run one command."""
        handler = COMMAND_HANDLERS.get(type(cmd))
        if handler is None:
            raise TypeError(f"cart has no handler for {type(cmd).__name__}")
        return await handler(cmd, self.deps)

    async def get(self, cart_id: uuid.UUID, principal: Principal | None) -> CartView:
        return await carts.get(self.deps, cart_id, principal)

    async def checkout_snapshot(self, cart_id: uuid.UUID, principal: Principal | None) -> CartSnapshot:
        """The cart priced now, refused unless every line can be bought: the order saga's input."""
        return await carts.checkout_snapshot(self.deps, cart_id, principal)
