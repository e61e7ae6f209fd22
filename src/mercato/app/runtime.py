"""The running process: engines' clients, every context's service, outbox relays, consumers, sweepers.

`Runtime` is built from Settings whose URLs are already resolved (see platform.engines), started
once, and stopped on shutdown. In-process topology: every context lives here and the gateway calls
them directly through their in-process clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from mercato.cart.bootstrap import CartService
from mercato.cart.client import InProcessCartClient
from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.client import InProcessCatalogClient
from mercato.customers.bootstrap import build_customers
from mercato.customers.client import InProcessCustomersClient
from mercato.inventory.bootstrap import InventoryService, inventory_outbox
from mercato.inventory.client import InProcessInventoryClient
from mercato.inventory.domain.commands import ExpireReservations
from mercato.inventory.entrypoints.saga_commands import saga_subscription as inventory_saga
from mercato.orders.bootstrap import build_orders
from mercato.orders.client import InProcessOrdersClient
from mercato.payments.bootstrap import build_payments
from mercato.payments.client import InProcessPaymentsClient
from mercato.payments.entrypoints.saga_commands import saga_subscription as payments_saga
from mercato.platform.cache import Cache
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.inbox import EventConsumer, Subscription
from mercato.platform.messaging import Broker
from mercato.platform.outbox import OutboxRelay
from mercato.platform.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings) -> None:
        if not (settings.database_url and settings.nats_url and settings.redis_url):
            raise ValueError("Runtime needs resolved engine URLs (see mercato.platform.engines)")
        self.settings = settings
        self.db = Database(settings.database_url, pool_size=settings.db_pool_size)
        # Short timeouts and one retry: a Redis outage must cost a request milliseconds, not seconds.
        self.redis = Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=0.5,
            socket_timeout=0.5,
            retry=Retry(NoBackoff(), 1),
        )
        self.broker = Broker(settings.nats_url, settings.namespace)
        self.cache = Cache(
            self.redis,
            settings.namespace,
            ttl_seconds=settings.cache_ttl_seconds,
            enabled=settings.cache_enabled,
        )
        self.relays: dict[str, OutboxRelay] = {}
        self.catalog = CatalogService(self.db, self.cache, settings.namespace, self._waker("catalog"))
        self.inventory = InventoryService(
            self.db, inventory_outbox(settings.namespace), self._waker("inventory")
        )
        self.catalog_client = InProcessCatalogClient(self.catalog)
        self.inventory_client = InProcessInventoryClient(self.inventory)
        self.cart = CartService(self.redis, self.catalog_client, settings)
        self.customers = build_customers(self.db, self.redis, settings, self._waker("customers"))
        self.customers_client = InProcessCustomersClient(self.customers)
        self.payments = build_payments(self.db, settings, self._waker("payments"))
        self.payments_client = InProcessPaymentsClient(self.payments)
        self.orders = build_orders(self.db, settings, self._waker("orders"))
        self.orders_client = InProcessOrdersClient(self.orders)
        self.cart_client = InProcessCartClient(self.cart)
        self.consumers: list[EventConsumer] = []
        self._tasks: list[asyncio.Task[None]] = []

    def _waker(self, context: str) -> Callable[[], None]:
        def wake() -> None:
            relay = self.relays.get(context)
            if relay is not None:
                relay.wake()

        return wake

    async def start(self, *, background: bool = True) -> None:
        """Connect to the broker, create streams and durable consumers; with `background`, run
        relays, consumers and sweepers as tasks until `stop()`."""
        await self.broker.connect()
        s = self.settings
        outboxes = (
            ("catalog", self.catalog.outbox),
            ("inventory", self.inventory.outbox),
            ("customers", self.customers.outbox),
            ("payments", self.payments.outbox),
            ("orders", self.orders.outbox),
        )
        for context, outbox in outboxes:
            await self.broker.ensure_stream(context)
            self.relays[context] = OutboxRelay(
                self.db,
                outbox,
                self.broker,
                batch_size=s.outbox_batch_size,
                poll_interval=s.outbox_poll_interval_seconds,
            )
        # (schema holding the inbox, subscription, unit of work the handler runs in)
        wiring: list[tuple[str, Subscription, Callable[[], UnitOfWork]]] = [
            *((self.catalog.schema, sub, self.catalog.uow) for sub in self.catalog.subscriptions()),
            *(("orders", sub, self.orders.uow) for sub in self.orders.subscriptions()),
            ("inventory", inventory_saga(self.inventory), self.inventory.unit_of_work),
            ("payments", payments_saga(self.payments), self.payments.unit_of_work),
        ]
        for schema, subscription, uow in wiring:
            self.consumers.append(
                EventConsumer(
                    self.db,
                    self.broker,
                    schema,
                    subscription,
                    uow,
                    batch_size=s.consumer_batch_size,
                    max_deliveries=s.consumer_max_deliveries,
                    ack_wait=s.consumer_ack_wait_seconds,
                )
            )
        for consumer in self.consumers:
            await consumer.start()
        if background:
            for relay in self.relays.values():
                self._spawn(relay.run)
            for consumer in self.consumers:
                self._spawn(consumer.run)
            self._spawn(self._sweep_reservations)
            self._spawn(self._resolve_pending_payments)
            self._spawn(self._expire_sagas)

    def _spawn(self, run: Callable[[], Awaitable[None]]) -> None:
        async def guarded() -> None:
            await run()

        self._tasks.append(asyncio.create_task(guarded()))

    async def _sweep_reservations(self) -> None:
        while True:
            try:
                await self.inventory.handle(ExpireReservations(now=datetime.now(UTC), limit=500))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reservation sweeper failed; retrying")
            await asyncio.sleep(self.settings.reservation_sweep_interval_seconds)

    async def _resolve_pending_payments(self) -> None:
        """Finish provider calls whose outcome a crashed or timed-out attempt never recorded."""
        while True:
            try:
                await self.payments.resolve_pending(100)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("payments resolver failed; retrying")
            await asyncio.sleep(self.settings.reservation_sweep_interval_seconds)

    async def _expire_sagas(self) -> None:
        """Time out saga steps that got no reply: retry them, then compensate."""
        while True:
            try:
                await self.orders.expire_due(100)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("saga sweeper failed; retrying")
            await asyncio.sleep(self.settings.reservation_sweep_interval_seconds)

    async def ready(self) -> dict[str, bool]:
        """Which engines answer right now (for /readyz)."""
        checks: dict[str, bool] = {}
        try:
            await asyncio.wait_for(self.db.ping(), timeout=2)
            checks["postgres"] = True
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            checks["postgres"] = False
        try:
            checks["redis"] = bool(await asyncio.wait_for(self.redis.ping(), timeout=2))
        except Exception:  # noqa: BLE001
            checks["redis"] = False
        checks["nats"] = self.broker.is_connected
        return checks

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for consumer in self.consumers:
            await consumer.stop()
        await self.broker.close()
        await self.redis.aclose()
        await self.db.dispose()
