"""The orders over gRPC (`mercato.orders.v1.OrdersService`): request -> command or query -> response.
Authentication and error mapping are the platform server's; typed errors just propagate.

`PlaceOrder` waits here, up to the request's `wait_seconds` (capped), for the saga to settle the
order: the wait is woken by the order's lifecycle event, so it costs no polling, and the gateway
makes one call per checkout."""

from __future__ import annotations

from typing import Any, Protocol

from mercato._gen.mercato.orders.v1 import order_pb2, orders_service_pb2, orders_service_pb2_grpc
from mercato.orders.domain import commands
from mercato.orders.domain.model import OrderStatus, RejectReason
from mercato.orders.service_layer.queries import OrdersQueries, OrderView, StatusChange
from mercato.platform.grpc.convert import (
    from_struct,
    money_message,
    parse_money,
    parse_uuid,
    to_struct,
    to_timestamp,
)
from mercato.platform.grpc.server import ServiceRegistration
from mercato.platform.postal import PostalAddress

SERVICE_NAME = "mercato.orders.v1.OrdersService"


class OrdersService(Protocol):
    """What the servicer uses of `bootstrap.OrdersService` (entrypoints sit below bootstrap)."""

    queries: OrdersQueries

    async def handle(self, cmd: Any) -> Any: ...

    async def place_order(self, cmd: commands.PlaceOrder, wait_seconds: float = 0.0) -> OrderView: ...


# A caller may not hold a call open longer than this for one checkout.
MAX_WAIT_SECONDS = 30.0


def status_value(status: OrderStatus | None) -> Any:
    return order_pb2.OrderStatus.Value(
        f"ORDER_STATUS_{status.value}" if status else "ORDER_STATUS_UNSPECIFIED"
    )


def reason_value(reason: RejectReason | None) -> Any:
    return order_pb2.RejectReason.Value(
        f"REJECT_REASON_{reason.value}" if reason else "REJECT_REASON_UNSPECIFIED"
    )


def change_message(change: StatusChange) -> order_pb2.StatusChange:
    return order_pb2.StatusChange(
        status=status_value(change.status),
        reason=reason_value(change.reason),
        at=to_timestamp(change.at),
        actor=change.actor,
        note=change.note,
    )


def view_message(view: OrderView) -> order_pb2.Order:
    return order_pb2.Order(
        id=str(view.id),
        customer_id=str(view.customer_id),
        status=status_value(view.status),
        reason=reason_value(view.reason),
        lines=[
            order_pb2.OrderLine(
                sku=line.sku, quantity=line.quantity, unit_price=money_message(line.unit_price)
            )
            for line in view.lines
        ],
        total=money_message(view.total),
        shipping_address=to_struct(dict(view.shipping_address)),
        created_at=to_timestamp(view.created_at),
        history=[change_message(c) for c in view.history],
        refunded=money_message(view.refunded) if view.refunded is not None else None,
        tracking_number=view.tracking_number,
    )


class OrdersServicer(orders_service_pb2_grpc.OrdersServiceServicer):
    def __init__(self, service: OrdersService) -> None:
        self.service = service

    async def PlaceOrder(self, request: Any, context: Any) -> orders_service_pb2.PlaceOrderResponse:
        command = commands.PlaceOrder(
            customer_id=parse_uuid(request.customer_id, "customerId"),
            lines=[
                (line.sku, line.quantity, parse_money(line.unit_price, f"lines.{i}.unitPrice"))
                for i, line in enumerate(request.lines)
            ],
            total=parse_money(request.total, "total"),
            shipping_address=PostalAddress.from_document(from_struct(request.shipping_address)),
            payment_method=request.payment_method,
            idempotency_key=request.idempotency_key,
            cart_id=parse_uuid(request.cart_id, "cartId"),
            order_id=parse_uuid(request.order_id, "orderId") if request.HasField("order_id") else None,
        )
        wait = min(max(0.0, request.wait_seconds), MAX_WAIT_SECONDS)
        view = await self.service.place_order(command, wait)
        return orders_service_pb2.PlaceOrderResponse(order=view_message(view))

    async def GetOrder(self, request: Any, context: Any) -> orders_service_pb2.GetOrderResponse:
        view = await self.service.queries.order(parse_uuid(request.order_id, "id"))
        if view is None:
            return orders_service_pb2.GetOrderResponse()
        return orders_service_pb2.GetOrderResponse(order=view_message(view))

    async def GetOrderStatus(self, request: Any, context: Any) -> orders_service_pb2.GetOrderStatusResponse:
        status = await self.service.queries.status(parse_uuid(request.order_id, "id"))
        return orders_service_pb2.GetOrderStatusResponse(status=status_value(status))

    async def ListOrdersForCustomer(
        self, request: Any, context: Any
    ) -> orders_service_pb2.ListOrdersForCustomerResponse:
        page = await self.service.queries.orders_for_customer(
            parse_uuid(request.customer_id, "customerId"),
            request.first,
            request.after if request.HasField("after") else None,
        )
        return orders_service_pb2.ListOrdersForCustomerResponse(
            items=[view_message(v) for v in page.items],
            end_cursor=page.end_cursor,
            has_next_page=page.has_next_page,
        )

    async def CancelOrder(self, request: Any, context: Any) -> orders_service_pb2.CancelOrderResponse:
        command = commands.CancelOrder(
            order_id=parse_uuid(request.order_id, "id"),
            actor=request.actor,
            reason=request.reason,
            customer_id=parse_uuid(request.customer_id, "customerId")
            if request.HasField("customer_id")
            else None,
        )
        await self.service.handle(command)
        return orders_service_pb2.CancelOrderResponse()

    async def FulfillOrder(self, request: Any, context: Any) -> orders_service_pb2.FulfillOrderResponse:
        command = commands.FulfillOrder(
            order_id=parse_uuid(request.order_id, "id"),
            tracking_number=request.tracking_number,
            actor=request.actor,
        )
        await self.service.handle(command)
        return orders_service_pb2.FulfillOrderResponse()

    async def RefundOrder(self, request: Any, context: Any) -> orders_service_pb2.RefundOrderResponse:
        command = commands.RefundOrder(
            order_id=parse_uuid(request.order_id, "id"),
            amount=parse_money(request.amount, "amount"),
            idempotency_key=request.idempotency_key,
            actor=request.actor,
        )
        sent = await self.service.handle(command)
        return orders_service_pb2.RefundOrderResponse(refund_sent=sent)


def registration(service: OrdersService) -> ServiceRegistration:
    """What `platform.grpc.server.GrpcServer` needs to serve the orders."""
    return ServiceRegistration(
        name=SERVICE_NAME,
        servicer=OrdersServicer(service),
        add_to_server=orders_service_pb2_grpc.add_OrdersServiceServicer_to_server,
    )
