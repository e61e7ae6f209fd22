"""How the gateway (and other contexts) call the orders: the `OrdersClient` Protocol, and its
in-process form.

`place_order` places the order and waits in the orders service, up to a few seconds, for the saga
(running in the background, driven by events) to settle it, so a GraphQL mutation can answer
CONFIRMED / REJECTED in the common case and PENDING when the saga is slow. The wait is woken by the
order's lifecycle event (`adapters/order_watch.py`), whichever process ran the saga's last step.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from mercato.orders.domain.commands import CancelOrder, FulfillOrder, PlaceOrder, RefundOrder
from mercato.orders.service_layer.queries import OrderPage, OrderView

T = TypeVar("T")

if TYPE_CHECKING:
    from mercato.orders.bootstrap import OrdersService


class OrdersClient(Protocol):
    # Places the order (a retry of its key finds the first one) and waits up to `wait_seconds` for
    # it to settle, in the orders service: the order as it stands then.
    async def place_order(self, cmd: PlaceOrder, *, wait_seconds: float = 0.0) -> OrderView: ...

    async def order(self, order_id: uuid.UUID) -> OrderView | None: ...

    async def orders_for_customer(
        self, customer_id: uuid.UUID, *, first: int = 20, after: str | None = None
    ) -> OrderPage: ...

    # `timeout` is not a cancellation: when it runs out the order is returned as it stands.
    async def wait_for_terminal(self, order_id: uuid.UUID, timeout: float) -> OrderView | None: ...  # noqa: ASYNC109

    async def wait_until(
        self,
        order_id: uuid.UUID,
        done: Callable[[OrderView], bool],
        timeout: float,  # noqa: ASYNC109
    ) -> OrderView | None: ...

    # After the purchase: each returns once the request is recorded (and its commands sent). Like
    # `place_order`, mutations take their command (`domain.commands`); reads take plain arguments.
    async def cancel_order(self, cmd: CancelOrder) -> None: ...

    async def fulfill_order(self, cmd: FulfillOrder) -> None: ...

    # True when a refund was sent; False for a retry of one.
    async def refund_order(self, cmd: RefundOrder) -> bool: ...


async def poll_until(
    read: Callable[[], Awaitable[T | None]],
    done: Callable[[T], bool],
    timeout: float,  # noqa: ASYNC109
    interval: float,
) -> T | None:
    """`read()` every `interval` seconds until it is None or `done`, or `timeout` seconds have passed;
    the last value read. Both clients' waits are this loop over their own reads."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0.0, timeout)
    while True:
        value = await read()
        if value is None or done(value) or loop.time() >= deadline:
            return value
        await asyncio.sleep(min(interval, max(0.0, deadline - loop.time())))


class InProcessOrdersClient:
    """`OrdersClient` calling an `OrdersService` in the same process."""

    def __init__(self, service: OrdersService, *, poll_interval: float = 0.05) -> None:
        self.service = service
        self.poll_interval = poll_interval  # of `wait_until` (after-purchase waits)

    async def place_order(self, cmd: PlaceOrder, *, wait_seconds: float = 0.0) -> OrderView:
        return await self.service.place_order(cmd, wait_seconds)

    async def order(self, order_id: uuid.UUID) -> OrderView | None:
        return await self.service.queries.order(order_id)

    async def orders_for_customer(
        self, customer_id: uuid.UUID, *, first: int = 20, after: str | None = None
    ) -> OrderPage:
        return await self.service.queries.orders_for_customer(customer_id, first, after)

    async def cancel_order(self, cmd: CancelOrder) -> None:
        await self.service.handle(cmd)

    async def fulfill_order(self, cmd: FulfillOrder) -> None:
        await self.service.handle(cmd)

    async def refund_order(self, cmd: RefundOrder) -> bool:
        return await self.service.handle(cmd)

    async def wait_until(
        self,
        order_id: uuid.UUID,
        done: Callable[[OrderView], bool],
        timeout: float,  # noqa: ASYNC109
    ) -> OrderView | None:
        """The order once `done(order)`, or as it stands after `timeout` seconds (None if there is
        no such order). Reads the whole order each poll: after-purchase waits are rare."""
        return await poll_until(
            lambda: self.service.queries.order(order_id), done, timeout, self.poll_interval
        )

    async def wait_for_terminal(self, order_id: uuid.UUID, timeout: float) -> OrderView | None:  # noqa: ASYNC109
        return await self.service.wait_for_terminal(order_id, timeout)
