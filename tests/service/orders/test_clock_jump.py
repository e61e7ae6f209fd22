"""A clock jump across reservation expiry (issue 11, item 2): the host's clock steps an hour forward
(NTP after a suspend, a VM restored) while orders hold reservations and payments is down, then steps
back. Reservations jumped over are released exactly once, by sweepers racing each other; stock never
goes negative and a committed reservation stays committed; the orders whose reservation expired are
rejected and their late payment given back; the invariant checker finds nothing, on the database's
clock and on the jumped one. Stepping back releases nothing and the next order goes through.

The three services share one clock, as on one machine (`Checkout.clock`). They run on a database and
a NATS namespace of their own: a sweep an hour ahead would expire reservations other tests hold in
the shared one.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from mercato.app.contexts import MIGRATIONS
from mercato.app.invariants import Scope, verify, verify_when_quiet
from mercato.orders import OrderStatus, RejectReason
from mercato.platform.clock import WallClock
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.engines import EngineUrls
from mercato.platform.messaging import Broker
from mercato.platform.migrations import migrate
from tests.conftest import own_database
from tests.service.orders.harness import Checkout
from tests.service.orders.test_recovery import outbox_types

S = OrderStatus
JUMP = timedelta(hours=1)  # past the reservation TTL (15 min) and every saga deadline (30 s steps)
SWEEPERS = 4  # replicas of the inventory's expiry sweeper, sweeping at the same moment


@dataclass
class World:
    db: Database
    broker: Broker
    settings: Settings


@pytest.fixture
async def world(engine_urls: EngineUrls, settings: Settings) -> AsyncIterator[World]:
    namespace = f"jump{secrets.token_hex(3)}"
    async with own_database(engine_urls, namespace) as url:
        own = settings.model_copy(update={"namespace": namespace, "database_url": url})
        db = Database(url, pool_size=10)
        broker = Broker(engine_urls.nats, namespace)
        try:
            await migrate(db, MIGRATIONS)
            await broker.connect()
            yield World(db, broker, own)
        finally:
            if broker.is_connected:
                await broker.delete_streams()
            await broker.close()
            await db.dispose()


async def test_a_clock_jump_across_reservation_expiry_releases_each_reservation_once_and_rejects_cleanly(
    world: World, redis: Redis
) -> None:
    clock = WallClock()  # the host's clock as NTP may step it
    system = Checkout(world.db, world.broker, world.settings, clock=clock)
    await system.start()
    try:
        sku = await system.stocked_sku(5)
        confirmed = await system.orders.handle(system.place(sku, 1))
        assert (await system.settle(confirmed.id)).status is S.CONFIRMED
        # Payments goes down: two orders hold their reservations, waiting for their payment.
        await system.stop(only={"payments"})
        waiting = [await system.orders.handle(system.place(sku, n)) for n in (1, 2)]
        for order in waiting:
            await system.wait_status(order.id, S.STOCK_RESERVED)
        assert await system.stock(sku) == (4, 3)

        # When: the clock jumps an hour, and every sweeper wakes up at once.
        clock.step(JUMP)
        released = await asyncio.gather(*(system.inventory.expire_due() for _ in range(SWEEPERS)))
        await system.orders.expire_due()  # the saga sweeper: every deadline was jumped over too

        # Then: each reservation jumped over was released once, whoever swept it.
        assert sum(released) == 2
        assert await system.inventory.expire_due() == 0
        for order in waiting:
            assert await system.reservation_status(order.id) == "EXPIRED"
        assert await system.reservation_status(confirmed.id) == "COMMITTED"
        assert await system.stock(sku) == (4, 0)  # none negative, the units back on sale
        # The orders whose reservation expired are rejected; payments, back, gives their money back.
        views = [await system.settle(order.id) for order in waiting]
        assert [(v.status, v.reason) for v in views] == [(S.REJECTED, RejectReason.TIMEOUT)] * 2
        await system.start(only={"payments"})
        await system.idle(within=30.0)
        assert (await system.settle(confirmed.id)).status is S.CONFIRMED
        for order in waiting:  # released once, though the saga's compensation asked for it again
            assert await outbox_types(world.db, "inventory", str(order.id)) == [
                "inventory.reservation_created",
                "inventory.reservation_released",
            ]

        scope = Scope(orders=[confirmed.id, *(o.id for o in waiting)], skus=[sku])
        quiet = await verify_when_quiet(world.db, redis, world.settings.namespace, scope=scope)
        assert quiet.violations == []
        # The checker on the jumped clock too: nothing ACTIVE left behind a passed expiry.
        jumped = await verify(world.db, redis, world.settings.namespace, scope=scope, now=clock())
        assert jumped.violations == []

        # When: the clock steps back; then nothing more is released, and the next order goes through.
        clock.step(-JUMP)
        assert await system.inventory.expire_due() == 0
        after = await system.orders.handle(system.place(sku, 2))
        assert (await system.settle(after.id)).status is S.CONFIRMED
        assert await system.stock(sku) == (2, 0)
    finally:
        await system.stop()
