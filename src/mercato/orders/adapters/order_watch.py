"""Wakes whoever waits for an order to settle, from the orders' own lifecycle events.

`checkoutComplete` waits a few seconds for CONFIRMED / REJECTED. Polling the order every 50 ms cost
~4 statements per checkout and up to 50 ms of latency after the saga had settled. Instead, every
orders process holds one core-NATS subscription on `order_confirmed` / `order_rejected` (what the
outbox publishes anyway) and wakes the waiters of that order id; whichever process ran the saga's
last step, the event reaches them all. Core NATS may drop a message (a reconnect), so the waiter
also polls, rarely, as a fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterator

import orjson
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from mercato.platform.messaging import Broker
from mercato.platform.shutdown import Stopping

log = logging.getLogger(__name__)

# The lifecycle events after which an order placed by a checkout waits for nothing more.
SETTLING_EVENTS = ("order_confirmed", "order_rejected")


class OrderWatch:
    def __init__(self) -> None:
        self._waiters: dict[uuid.UUID, set[asyncio.Event]] = {}
        self._subscriptions: list[Subscription] = []
        self.stopping = Stopping()  # a `Listener`; `run` has no loop to stop

    @property
    def running(self) -> bool:
        return bool(self._subscriptions)

    async def start(self, broker: Broker) -> None:
        if self._subscriptions:
            return
        for name in SETTLING_EVENTS:
            subject = f"{broker.namespace}.orders.v1.{name}"
            self._subscriptions.append(await broker.nc.subscribe(subject, cb=self._on_event))

    async def run(self) -> None:
        """Nothing to loop over: the subscriptions' callbacks do the work (a `Listener`)."""

    async def stop(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            with contextlib.suppress(Exception):  # the connection may be closing already
                await subscription.unsubscribe()

    @contextlib.contextmanager
    def waiting(self, order_id: uuid.UUID) -> Iterator[asyncio.Event]:
        """An event set when `order_id` settles; register it before the order can settle."""
        event = asyncio.Event()
        self._waiters.setdefault(order_id, set()).add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(order_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[order_id]

    async def _on_event(self, msg: Msg) -> None:
        if not self._waiters:
            return  # nobody waits in this process: skip the parse
        try:
            order_id = uuid.UUID(str(orjson.loads(msg.data)["payload"]["order_id"]))
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            log.warning("order watch: unreadable event on %s", msg.subject)
            return
        for event in self._waiters.get(order_id, ()):
            event.set()
