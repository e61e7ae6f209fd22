"""`OrdersClient` over gRPC: the same Protocol, return types and typed errors as in process.

Retries (see `platform.grpc.client`) are allowed where the orders deduplicate: reads, `place_order`
and `refund_order` (both carry an idempotency key). `cancel_order` and `fulfill_order` run once.
`place_order` waits in the orders service (the request's `wait_seconds`, woken by the order's
lifecycle event); `wait_for_terminal` / `wait_until` poll on this side, one short call at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from mercato._gen.mercato.common.v1 import money_pb2
from mercato._gen.mercato.orders.v1 import order_pb2, orders_service_pb2, orders_service_pb2_grpc
from mercato.orders.client import poll_until
from mercato.orders.domain import rules
from mercato.orders.domain.commands import CancelOrder, FulfillOrder, PlaceOrder, RefundOrder
from mercato.orders.domain.errors import (
    OrderCancelErrorCode,
    OrderFulfillErrorCode,
    OrderQueryErrorCode,
    OrderRefundErrorCode,
    PlaceOrderErrorCode,
)
from mercato.orders.domain.model import OrderStatus, RejectReason
from mercato.orders.service_layer.queries import OrderLineView, OrderPage, OrderView, StatusChange
from mercato.platform.errors import MercatoError
from mercato.platform.grpc.client import CallPolicy, ServiceCaller
from mercato.platform.grpc.convert import from_struct, from_timestamp, money_message, to_struct
from mercato.platform.types import Money

TARGET = "orders"
# Domain classes the orders raise, so the client re-raises the very class (IdempotencyKeyReused, ...).
KNOWN_ERRORS: tuple[type[MercatoError], ...] = (
    rules.CartEmpty,
    rules.IdempotencyKeyReused,
    rules.OrderIdTaken,
    rules.OrderNotFound,
    rules.InvalidOrderState,
    rules.AlreadyFulfilled,
    rules.RefundExceedsCaptured,
    rules.RefundKeyReused,
)
DEFAULT_POLL_INTERVAL = 0.05


def money(message: money_pb2.Money) -> Money:
    return Money(message.amount_minor, message.currency_code)


def status(value: int) -> OrderStatus | None:
    name = order_pb2.OrderStatus.Name(value).removeprefix("ORDER_STATUS_")
    return None if name == "UNSPECIFIED" else OrderStatus(name)


def reason(value: int) -> RejectReason | None:
    name = order_pb2.RejectReason.Name(value).removeprefix("REJECT_REASON_")
    return None if name == "UNSPECIFIED" else RejectReason(name)


def _status(value: int) -> OrderStatus:
    found = status(value)
    if found is None:  # pragma: no cover - the server always sends an order's status
        raise ValueError("an order without a status")
    return found


def order_view(message: order_pb2.Order) -> OrderView:
    return OrderView(
        id=uuid.UUID(message.id),
        customer_id=uuid.UUID(message.customer_id),
        status=_status(message.status),
        reason=reason(message.reason),
        lines=tuple(OrderLineView(line.sku, line.quantity, money(line.unit_price)) for line in message.lines),
        total=money(message.total),
        shipping_address=from_struct(message.shipping_address),
        created_at=from_timestamp(message.created_at),
        history=tuple(
            StatusChange(
                _status(c.status),
                reason(c.reason),
                from_timestamp(c.at),
                c.actor if c.HasField("actor") else None,
                c.note if c.HasField("note") else None,
            )
            for c in message.history
        ),
        refunded=money(message.refunded) if message.HasField("refunded") else None,
        tracking_number=message.tracking_number if message.HasField("tracking_number") else None,
    )


class GrpcOrdersClient:
    """`OrdersClient` calling an orders service through `channel`."""

    def __init__(
        self,
        channel: Any,
        *,
        service: str,
        secret: str | None,
        policy: CallPolicy | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        # The generated stub is untyped; its methods are wrapped by ServiceCaller.call, which is typed.
        self._stub = orders_service_pb2_grpc.OrdersServiceStub(channel)  # type: ignore[no-untyped-call]
        self._caller = ServiceCaller(
            service=service, target_name=TARGET, secret=secret, policy=policy, known_errors=KNOWN_ERRORS
        )
        self.poll_interval = poll_interval

    async def place_order(self, cmd: PlaceOrder, *, wait_seconds: float = 0.0) -> OrderView:
        request = orders_service_pb2.PlaceOrderRequest(
            customer_id=str(cmd.customer_id),
            lines=[
                order_pb2.OrderLine(sku=sku, quantity=quantity, unit_price=money_message(price))
                for sku, quantity, price in cmd.lines
            ],
            total=money_message(cmd.total),
            shipping_address=to_struct(cmd.shipping_address.to_document()),
            payment_method=cmd.payment_method,
            idempotency_key=cmd.idempotency_key,
            order_id=str(cmd.order_id) if cmd.order_id is not None else None,
            cart_id=str(cmd.cart_id),
            wait_seconds=wait_seconds,
        )
        reply = await self._caller.call(
            self._stub.PlaceOrder, request, retryable=True, codes=PlaceOrderErrorCode, wait=wait_seconds
        )
        return order_view(reply.order)

    async def order(self, order_id: uuid.UUID) -> OrderView | None:
        request = orders_service_pb2.GetOrderRequest(order_id=str(order_id))
        reply = await self._caller.call(
            self._stub.GetOrder, request, retryable=True, codes=OrderQueryErrorCode
        )
        return order_view(reply.order) if reply.HasField("order") else None

    async def status(self, order_id: uuid.UUID) -> OrderStatus | None:
        """The order's status alone (None: no such order); what the waits poll."""
        request = orders_service_pb2.GetOrderStatusRequest(order_id=str(order_id))
        reply = await self._caller.call(
            self._stub.GetOrderStatus, request, retryable=True, codes=OrderQueryErrorCode
        )
        return status(reply.status)

    async def orders_for_customer(
        self, customer_id: uuid.UUID, *, first: int = 20, after: str | None = None
    ) -> OrderPage:
        request = orders_service_pb2.ListOrdersForCustomerRequest(
            customer_id=str(customer_id), first=first, after=after
        )
        reply = await self._caller.call(
            self._stub.ListOrdersForCustomer, request, retryable=True, codes=OrderQueryErrorCode
        )
        return OrderPage(
            items=tuple(order_view(o) for o in reply.items),
            end_cursor=reply.end_cursor if reply.HasField("end_cursor") else None,
            has_next_page=reply.has_next_page,
        )

    async def cancel_order(self, cmd: CancelOrder) -> None:
        request = orders_service_pb2.CancelOrderRequest(
            order_id=str(cmd.order_id),
            actor=cmd.actor,
            reason=cmd.reason,
            customer_id=str(cmd.customer_id) if cmd.customer_id is not None else None,
        )
        await self._caller.call(self._stub.CancelOrder, request, retryable=False, codes=OrderCancelErrorCode)

    async def fulfill_order(self, cmd: FulfillOrder) -> None:
        request = orders_service_pb2.FulfillOrderRequest(
            order_id=str(cmd.order_id), tracking_number=cmd.tracking_number, actor=cmd.actor
        )
        await self._caller.call(
            self._stub.FulfillOrder, request, retryable=False, codes=OrderFulfillErrorCode
        )

    async def refund_order(self, cmd: RefundOrder) -> bool:
        request = orders_service_pb2.RefundOrderRequest(
            order_id=str(cmd.order_id),
            amount=money_message(cmd.amount),
            idempotency_key=cmd.idempotency_key,
            actor=cmd.actor,
        )
        reply = await self._caller.call(
            self._stub.RefundOrder, request, retryable=True, codes=OrderRefundErrorCode
        )
        return bool(reply.refund_sent)

    async def wait_until(
        self,
        order_id: uuid.UUID,
        done: Callable[[OrderView], bool],
        timeout: float,  # noqa: ASYNC109
    ) -> OrderView | None:
        """The order once `done(order)`, or as it stands after `timeout` seconds (None if there is
        no such order). Reads the whole order each poll: after-purchase waits are rare."""
        return await poll_until(lambda: self.order(order_id), done, timeout, self.poll_interval)

    async def wait_for_terminal(self, order_id: uuid.UUID, timeout: float) -> OrderView | None:  # noqa: ASYNC109
        """The order once CONFIRMED or REJECTED, or as it stands after `timeout` seconds (None if
        there is no such order). Polls `GetOrderStatus` every `poll_interval` seconds."""
        status = await poll_until(
            lambda: self.status(order_id), lambda s: s.is_terminal, timeout, self.poll_interval
        )
        return None if status is None else await self.order(order_id)
