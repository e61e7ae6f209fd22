"""Wires the cart: the Redis store, the catalog it prices with, the limits and the wall clock.

This is the only module of the cart that knows the concrete store and reads the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

from mercato.cart.adapters.redis_store import RedisCartStore
from mercato.cart.domain.model import CartLimits
from mercato.cart.service_layer.carts import CartUseCases, Clock
from mercato.cart.service_layer.ports import CatalogPort
from mercato.platform.config import Settings

CONTEXT = "cart"


def utc_now() -> datetime:
    return datetime.now(UTC)


class CartService(CartUseCases):
    """The cart's facade for entrypoints and the in-process client. `catalog` is any
    `CatalogClient` (it satisfies `CatalogPort`)."""

    context = CONTEXT

    def __init__(
        self, redis: Redis, catalog: CatalogPort, settings: Settings, *, clock: Clock = utc_now
    ) -> None:
        super().__init__(
            store=RedisCartStore(redis, settings.namespace, settings.cart_ttl_seconds),
            catalog=catalog,
            limits=CartLimits(max_lines=settings.cart_max_lines, max_quantity=settings.cart_max_quantity),
            default_currency=settings.default_currency,
            clock=clock,
        )
