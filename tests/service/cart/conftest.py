"""Fixtures of the cart service tests: a real catalog on the session database (cache off, so every
read sees the latest price), wrapped to count its calls, and a cart service on the session Redis
with a clock the test controls."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from mercato.cart.bootstrap import CartService
from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.client import InProcessCatalogClient
from mercato.catalog.domain.commands import UpdateProduct, UpdateVariant
from mercato.catalog.service_layer.views import SkuPrice
from mercato.platform.auth import ALL_PERMISSIONS, Principal, Role
from mercato.platform.cache import Cache
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.types import Money
from tests.service.catalog.builders import a_product


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime(2030, 1, 1, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class CountingCatalog(InProcessCatalogClient):
    """The in-process catalog client, counting the calls the cart makes (batching is pinned)."""

    def __init__(self, service: CatalogService) -> None:
        super().__init__(service)
        self.calls: list[str] = []

    async def sku_prices(self, skus: Sequence[str]) -> dict[str, SkuPrice]:
        self.calls.append("sku_prices")
        return await super().sku_prices(skus)


@pytest.fixture(scope="session")
def catalog_service(db: Database, redis: Redis, namespace: str) -> CatalogService:
    return CatalogService(db, Cache(redis, namespace, enabled=False), namespace)


@pytest.fixture
def catalog(catalog_service: CatalogService) -> CountingCatalog:
    return CountingCatalog(catalog_service)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def carts(redis: Redis, catalog: CountingCatalog, settings: Settings, clock: FakeClock) -> CartService:
    return CartService(redis, catalog, settings, clock=clock)


def customer() -> Principal:
    return Principal(user_id=uuid.uuid4(), email=f"{uuid.uuid4().hex[:8]}@example.com", role=Role.CUSTOMER)


def admin() -> Principal:
    return Principal(
        user_id=uuid.uuid4(), email="admin@example.com", role=Role.ADMIN, permissions=ALL_PERMISSIONS
    )


async def skus_priced(catalog: CatalogService, *prices: int, published: bool = True) -> list[str]:
    """SKUs of one new product, one variant per price (USD)."""
    _, skus = await a_product(catalog, prices=prices, published=published)
    return skus


async def set_price(catalog: CatalogService, sku: str, amount: int) -> None:
    variant = (await catalog.queries.variants_by_skus([sku]))[sku]
    await catalog.handle(UpdateVariant(variant_id=variant.id, price=Money(amount, "USD")))


async def unpublish(catalog: CatalogService, sku: str) -> None:
    variant = (await catalog.queries.variants_by_skus([sku]))[sku]
    await catalog.handle(UpdateProduct(product_id=variant.product_id, changes={"published": False}))


def cart_key(settings: Settings, cart_id: uuid.UUID) -> str:
    return f"{settings.namespace}:cart:{cart_id}"


def owner_key(settings: Settings, user_id: uuid.UUID) -> str:
    return f"{settings.namespace}:cart:owner:{user_id}"


async def stored(redis: Redis, settings: Settings, cart_id: uuid.UUID) -> dict[str, str]:
    raw = await redis.hgetall(cart_key(settings, cart_id))
    return {_text(k): _text(v) for k, v in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class CommandLog:
    """A Redis client of its own whose commands are recorded: one entry per round trip."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        self.commands: list[str] = []
        original: Callable[..., Awaitable[Any]] = client.execute_command

        async def execute_command(*args: Any, **options: Any) -> Any:
            self.commands.append(str(args[0]))
            return await original(*args, **options)

        client.execute_command = execute_command  # type: ignore[method-assign]


@pytest.fixture
async def command_log(settings: Settings) -> AsyncIterator[CommandLog]:
    assert settings.redis_url is not None
    client = Redis.from_url(settings.redis_url)
    yield CommandLog(client)
    await client.aclose()
