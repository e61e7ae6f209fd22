"""The three services of the checkout saga on the session's engines, with their outbox relays and
consumers running as tasks of the test's event loop.

Consumers are run by a loop of short `poll`s that stops on a flag rather than `EventConsumer.run`
cancelled mid-fetch: a cancelled fetch leaves its pull request open on the server for its wait,
and a message delivered to it is only redelivered after the consumer's 30 s ack wait, which would
stall the next test. `crash(...)` cancels tasks at once, as a dying process would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text

from mercato.inventory import AdjustStock, CreateWarehouse
from mercato.inventory.bootstrap import InventoryService, build_inventory
from mercato.inventory.entrypoints.saga_commands import saga_subscription as inventory_saga
from mercato.orders import OrderStatus, PlaceOrder, SagaPolicy
from mercato.orders.bootstrap import OrdersService, build_orders
from mercato.orders.client import InProcessOrdersClient
from mercato.orders.service_layer.queries import OrderView
from mercato.payments.bootstrap import PaymentsService, build_payments
from mercato.payments.entrypoints.saga_commands import saga_subscription as payments_saga
from mercato.payments.service_layer.operations import RunnerSettings
from mercato.platform.clock import utc_now
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.events import stream_name
from mercato.platform.inbox import EventConsumer, Subscription
from mercato.platform.messaging import Broker
from mercato.platform.outbox import OutboxRelay
from mercato.platform.postal import PostalAddress
from mercato.platform.types import Money
from mercato.platform.unit_of_work import UnitOfWork
from tests.conftest import ref

log = logging.getLogger(__name__)

POLL_WAIT = 0.2
ADDRESS = PostalAddress(first_name="Ann", last_name="Lee", line1="1 Main St", city="Lyon", country="FR")


@dataclass
class Worker:
    name: str  # "orders", "inventory" or "payments": whose outbox or whose consumer
    task: asyncio.Task[None]
    stop: asyncio.Event


@dataclass
class Checkout:
    """Inventory, payments and orders wired as in production, each with a relay waking on commit."""

    db: Database
    broker: Broker
    settings: Settings
    policy: SagaPolicy = field(default_factory=SagaPolicy)
    relay_poll: float = 0.05
    # Each consumer's first N commits fail (after its handler ran), as if the process died there.
    flaky_commits: int = 0
    # The clock of all three services (the host's, shared as on one machine).
    clock: Callable[[], datetime] = utc_now
    workers: list[Worker] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.relays: dict[str, OutboxRelay] = {}
        self.inventory: InventoryService = build_inventory(
            self.db, self.settings, self._waker("inventory"), clock=self.clock
        )
        self.payments: PaymentsService = build_payments(
            self.db,
            self.settings,
            self._waker("payments"),
            clock=self.clock,
            runner_settings=RunnerSettings(provider_timeout_seconds=1.0, lease_seconds=2.0),
        )
        self.orders: OrdersService = build_orders(
            self.db, self.settings, self._waker("orders"), clock=self.clock, policy=self.policy
        )
        self.client = InProcessOrdersClient(self.orders, poll_interval=0.02)
        for context, outbox in (
            ("inventory", self.inventory.outbox),
            ("payments", self.payments.outbox),
            ("orders", self.orders.outbox),
        ):
            self.relays[context] = OutboxRelay(self.db, outbox, self.broker, poll_interval=self.relay_poll)

    def _waker(self, context: str) -> Callable[[], None]:
        def wake() -> None:
            relay = self.relays.get(context)
            if relay is not None:
                relay.wake()

        return wake

    def consumers(self) -> list[tuple[str, EventConsumer]]:
        plan: list[tuple[str, str, Subscription, Callable[[], UnitOfWork]]] = [
            ("orders", self.orders.schema, s, self.orders.uow) for s in self.orders.subscriptions()
        ]
        plan.append(("inventory", "inventory", inventory_saga(self.inventory), self.inventory.unit_of_work))
        plan.append(("payments", "payments", payments_saga(self.payments), self.payments.unit_of_work))
        return [
            (
                name,
                EventConsumer(
                    self.db, self.broker, schema, sub, _flaky(uow, self.flaky_commits), max_deliveries=5
                ),
            )
            for name, schema, sub, uow in plan
        ]

    async def start(self, *, only: set[str] | None = None) -> None:
        """Start relays and consumers (of the contexts in `only`, default all) as tasks."""
        for context in ("inventory", "payments", "orders"):
            await self.broker.ensure_stream(context)
        for context, relay in self.relays.items():
            if only is None or context in only:
                stop = asyncio.Event()
                self._spawn(context, _until(stop, relay.run()), stop)
        for name, consumer in self.consumers():
            if only is None or name in only:
                await consumer.start()
                stop = asyncio.Event()
                self._spawn(name, _consume(consumer, stop), stop)

    def _spawn(self, name: str, work: Coroutine[Any, Any, None], stop: asyncio.Event) -> None:
        self.workers.append(Worker(name, asyncio.create_task(work), stop))

    async def stop(self, *, only: set[str] | None = None) -> None:
        """Stop consumers after their current poll (nothing left in flight), and relays."""
        chosen = [w for w in self.workers if only is None or w.name in only]
        for worker in chosen:
            worker.stop.set()
        for worker in chosen:
            with contextlib.suppress(asyncio.CancelledError):
                await worker.task
        self.workers = [w for w in self.workers if w not in chosen]

    async def crash(self) -> None:
        """Every task dies where it stands, as the process would."""
        for worker in self.workers:
            worker.task.cancel()
        for worker in self.workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker.task
        self.workers = []
        await asyncio.sleep(POLL_WAIT + 0.1)  # let the server expire the pull requests left open

    # -- test helpers --------------------------------------------------------------------------

    async def stocked_sku(self, units: int) -> str:
        warehouse = await self.inventory.handle(CreateWarehouse(code=ref("wh"), name="Main"))
        sku = ref("SKU").upper()
        await self.inventory.handle(
            AdjustStock(sku=sku, warehouse_id=warehouse.id, reason="RECEIVED", actor="test", delta=units)
        )
        return sku

    def place(
        self, sku: str, quantity: int = 1, *, token: str = "tok_success", key: str | None = None
    ) -> PlaceOrder:
        price = Money(1250, "EUR")
        return PlaceOrder(
            customer_id=uuid.uuid4(),
            cart_id=uuid.uuid4(),
            lines=[(sku, quantity, price)],
            total=price * quantity,
            shipping_address=ADDRESS,
            payment_method=token,
            idempotency_key=key or ref("key"),
        )

    async def settle(self, order_id: uuid.UUID, within: float = 15.0) -> OrderView:
        view = await self.client.wait_for_terminal(order_id, within)
        assert view is not None
        assert view.status.is_terminal, f"order {order_id} still {view.status}"
        return view

    async def settle_all(self, order_ids: list[uuid.UUID], within: float = 30.0) -> list[OrderView]:
        """Every order once terminal, polling all of them in one statement (50 pollers would compete
        with the saga for connections)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            async with self.db.connect() as conn:
                pending = (
                    await conn.execute(
                        text(
                            "SELECT count(*) FROM orders.orders WHERE id = ANY(:ids) "
                            "AND status NOT IN ('CONFIRMED', 'REJECTED')"
                        ),
                        {"ids": order_ids},
                    )
                ).scalar_one()
            if not pending:
                break
            assert loop.time() < deadline, f"{pending} orders still not settled"
            await asyncio.sleep(0.05)
        views = [await self.orders.queries.order(i) for i in order_ids]
        return [v for v in views if v is not None]

    async def idle(self, within: float = 15.0) -> None:
        """Until every outbox is published and every consumer of the saga has acknowledged all."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        durables = [(c.subscription.source_context, c.durable) for _, c in self.consumers()]
        while True:
            async with self.db.connect() as conn:
                unpublished = (
                    await conn.execute(
                        text(
                            "SELECT (SELECT count(*) FROM orders.outbox WHERE published_at IS NULL) "
                            "+ (SELECT count(*) FROM inventory.outbox WHERE published_at IS NULL) "
                            "+ (SELECT count(*) FROM payments.outbox WHERE published_at IS NULL)"
                        )
                    )
                ).scalar_one()
            waiting = 0
            for context, durable in durables:
                info = await self.broker.js.consumer_info(
                    stream_name(self.broker.namespace, context), durable
                )
                waiting += (info.num_pending or 0) + (info.num_ack_pending or 0)
            if not unpublished and not waiting:
                return
            assert loop.time() < deadline, f"not idle: {unpublished} unpublished, {waiting} undelivered"
            await asyncio.sleep(0.05)

    async def wait_status(self, order_id: uuid.UUID, status: OrderStatus, within: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while (current := await self.orders.queries.status(order_id)) is not status:
            assert loop.time() < deadline, f"order {order_id} is {current}, not {status}"
            await asyncio.sleep(0.02)

    async def stock(self, sku: str) -> tuple[int, int]:
        """(on hand, reserved) over all warehouses."""
        rows = await self.inventory.queries.stock(sku)
        return sum(r.on_hand for r in rows), sum(r.reserved for r in rows)

    async def reservation_status(self, order_id: uuid.UUID) -> str | None:
        async with self.db.connect() as conn:
            return (
                await conn.execute(
                    text("SELECT status FROM inventory.reservations WHERE reference = :r"),
                    {"r": str(order_id)},
                )
            ).scalar_one_or_none()

    async def intents(self, order_id: uuid.UUID) -> list[str]:
        """Statuses of the order's payment intents, oldest first."""
        return [i.status.value for i in await self.payments.queries.intents_for_order(str(order_id))]


class SimulatedCrash(Exception):
    pass


def _flaky(factory: Callable[[], UnitOfWork], failures: int) -> Callable[[], UnitOfWork]:
    """`factory`, whose units of work fail their first `failures` commits (then behave)."""
    left = [failures]

    def make() -> UnitOfWork:
        uow = factory()
        commit = uow.commit

        async def failing_commit() -> None:
            if left[0] > 0:
                left[0] -= 1
                raise SimulatedCrash("the process died before the commit")
            await commit()

        uow.commit = failing_commit  # type: ignore[method-assign]
        return uow

    return make if failures else factory


async def _until(stop: asyncio.Event, work: Awaitable[None]) -> None:
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (task, waiter):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t


async def _consume(consumer: EventConsumer, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await consumer.poll(wait=POLL_WAIT)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("consumer %s failed; retrying", consumer.durable)
            await asyncio.sleep(0.05)
    await consumer.stop()
