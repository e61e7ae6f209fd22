"""Wires the orders together: the service facade that entrypoints and in-process clients use.

This is the only module that knows the concrete store, the wall clock and the id source (read
here, at the edge; the saga itself is handed both).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, overload

from mercato.orders.adapters import tables
from mercato.orders.adapters.order_watch import OrderWatch
from mercato.orders.adapters.repository import OrdersRepository
from mercato.orders.adapters.saga_metrics import StuckSagaSampler, count_stuck
from mercato.orders.domain.commands import (
    CancelOrder,
    ExpireSagas,
    FulfillOrder,
    PlaceOrder,
    RefundOrder,
    ResumeSaga,
)
from mercato.orders.domain.model import Order, order_id_for_command
from mercato.orders.domain.saga_types import SagaPolicy
from mercato.orders.entrypoints.saga import subscriptions
from mercato.orders.service_layer.dispatch import COMMAND_HANDLERS
from mercato.orders.service_layer.queries import OrdersQueries, OrderView
from mercato.orders.service_layer.unit_of_work import Clock, OrdersDeps, OrdersUnitOfWork
from mercato.platform.clock import utc_now
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.inbox import Subscription
from mercato.platform.outbox import Outbox
from mercato.platform.shutdown import wait_event

CONTEXT = "orders"


def orders_outbox(namespace: str) -> Outbox:
    return Outbox(tables.outbox, namespace)


class OrdersService:
    context = CONTEXT
    schema = tables.SCHEMA

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        on_commit: Callable[[], None] | None = None,
        *,
        clock: Clock = utc_now,
        policy: SagaPolicy | None = None,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.on_commit = on_commit
        self.clock = clock
        self.policy = policy or SagaPolicy()
        self.queries = OrdersQueries(db)
        self.deps = OrdersDeps(uow=self.uow, clock=clock, policy=self.policy)
        self.watch = OrderWatch()
        # How often a wait reads the order: often while no lifecycle events wake it (a process
        # without the broker, as in service tests), rarely as the fallback of a running watch. The
        # fallback (for a settling event the watch missed: NATS core delivery is at most once)
        # backs off, doubling up to its cap: under load every waiting request polling each second
        # was a third of the statements per order at 128 shoppers.
        self.poll_interval = 0.05
        self.fallback_poll_interval = 1.0
        self.fallback_poll_cap = 4.0
        self._stuck_sampler: StuckSagaSampler | None = None

    def uow(self) -> OrdersUnitOfWork:
        return OrdersUnitOfWork(self.db, self.outbox, self.on_commit, store=OrdersRepository)

    @overload
    async def handle(self, cmd: PlaceOrder) -> Order: ...
    @overload
    async def handle(self, cmd: ExpireSagas) -> int: ...
    @overload
    async def handle(self, cmd: CancelOrder | FulfillOrder) -> None: ...
    @overload
    async def handle(self, cmd: RefundOrder | ResumeSaga) -> bool: ...

    async def handle(self, cmd: Any) -> Any:
        """Run one command (one transaction)."""
        handler = COMMAND_HANDLERS.get(type(cmd))
        if handler is None:
            raise TypeError(f"orders has no handler for {type(cmd).__name__}")
        return await handler(cmd, self.deps)

    async def place_order(self, cmd: PlaceOrder, wait_seconds: float = 0.0) -> OrderView:
        """Place the order (or find it again, for a retry of its key) and wait up to `wait_seconds`
        for it to settle; the order as it stands then. What `checkoutComplete` calls."""
        with self.watch.waiting(order_id_for_command(cmd)) as settled:
            order = await self.handle(cmd)
            if wait_seconds > 0 and not order.status.is_terminal:
                await self._settled(order.id, settled, wait_seconds)
        view = await self.queries.order(order.id)
        assert view is not None, "the order was committed above"
        return view

    async def wait_for_terminal(self, order_id: uuid.UUID, timeout: float) -> OrderView | None:  # noqa: ASYNC109
        """The order once CONFIRMED or REJECTED, or as it stands after `timeout` seconds (None if
        there is no such order)."""
        with self.watch.waiting(order_id) as settled:
            status = await self.queries.status(order_id)
            if status is None:
                return None
            if not status.is_terminal:
                await self._settled(order_id, settled, timeout)
        return await self.queries.order(order_id)

    async def _settled(self, order_id: uuid.UUID, settled: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109
        """Until the watch says the order settled, a read finds it settled, or `timeout` runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        watched = self.watch.running
        interval = self.fallback_poll_interval if watched else self.poll_interval
        while (left := deadline - loop.time()) > 0:
            if await wait_event(settled, min(interval, left)):
                return
            status = await self.queries.status(order_id)
            if status is None or status.is_terminal:
                return
            if watched:
                interval = min(2 * interval, self.fallback_poll_cap)

    def subscriptions(self) -> list[Subscription]:
        """The saga's consumers (on the inventory and payments streams); run them with this
        service's `uow` as the unit-of-work factory."""
        return subscriptions(self.clock, self.policy)

    async def expire_due(self, limit: int = 100) -> int:
        """One sweep with the service's clock: what a periodic sweeper calls."""
        return await self.handle(ExpireSagas(now=self.clock(), limit=limit))

    async def stuck_sagas(self, grace_seconds: float) -> int:
        """Sagas past their step's deadline by more than the grace: what nothing drives on."""
        return await count_stuck(self.db, grace_seconds)

    async def sample_stuck_sagas(self, grace_seconds: float) -> None:
        """Refresh the stuck-saga gauges (called at each scrape of /metrics)."""
        if self._stuck_sampler is None:
            self._stuck_sampler = StuckSagaSampler(self.db, grace_seconds)
        await self._stuck_sampler()


def build_orders(
    db: Database,
    settings: Settings,
    on_commit: Callable[[], None] | None = None,
    *,
    clock: Clock = utc_now,
    policy: SagaPolicy | None = None,
) -> OrdersService:
    """The orders with `policy`, by default the saga's timings with the reservation TTL of `settings`."""
    chosen = policy or SagaPolicy(reservation_ttl_seconds=settings.reservation_ttl_seconds)
    return OrdersService(db, orders_outbox(settings.namespace), on_commit, clock=clock, policy=chosen)
