"""One behaviour suite for both `OrdersClient`s: in-process and gRPC (a real `grpc.aio` server on a
loopback port, over the session database). A caller must not be able to tell them apart.

No saga consumers run here: orders stay PENDING, so these tests cover placing and reading orders
and the refusals of the after-purchase commands, not the saga's progress."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from enum import Enum
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mercato._gen.mercato.orders.v1 import orders_service_pb2, orders_service_pb2_grpc
from mercato.orders.bootstrap import OrdersService, build_orders
from mercato.orders.client import InProcessOrdersClient, OrdersClient
from mercato.orders.domain.commands import CancelOrder, FulfillOrder, PlaceOrder, RefundOrder
from mercato.orders.domain.errors import (
    OrderCancelErrorCode,
    OrderFulfillErrorCode,
    OrderQueryErrorCode,
    OrderRefundErrorCode,
    PlaceOrderErrorCode,
)
from mercato.orders.domain.model import OrderStatus
from mercato.orders.domain.rules import IdempotencyKeyReused
from mercato.orders.entrypoints.grpc_server import registration
from mercato.orders.grpc_client import GrpcOrdersClient
from mercato.orders.service_layer.queries import OrderView
from mercato.platform.auth import Unauthenticated
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.errors import ClientError, Conflict, MercatoError, Unavailable, field_errors
from mercato.platform.grpc.client import CallPolicy, create_channel
from mercato.platform.grpc.server import GrpcServer
from mercato.platform.postal import PostalAddress
from mercato.platform.types import Money
from tests.conftest import ref

ADDRESS = PostalAddress(
    first_name="Ada", last_name="Lovelace", line1="1 Main St", city="Springfield", country="US"
)
CART = uuid.UUID(int=7)


@pytest.fixture(scope="session")
def orders_service(db: Database, settings: Settings) -> OrdersService:
    return build_orders(db, settings)


@pytest.fixture(scope="session")
async def orders_server(orders_service: OrdersService, settings: Settings) -> AsyncIterator[GrpcServer]:
    server = GrpcServer([registration(orders_service)], secret=settings.auth_secret)
    await server.start()
    yield server
    await server.stop(grace=None)


@pytest.fixture(scope="session")
async def orders_channel(orders_server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    channel = create_channel(f"127.0.0.1:{orders_server.port}")
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def grpc_orders(orders_channel: grpc.aio.Channel, settings: Settings) -> GrpcOrdersClient:
    return GrpcOrdersClient(orders_channel, service="gateway", secret=settings.auth_secret)


@pytest.fixture(params=["in_process", "grpc"])
def client(
    request: pytest.FixtureRequest, orders_service: OrdersService, grpc_orders: GrpcOrdersClient
) -> OrdersClient:
    if request.param == "grpc":
        return grpc_orders
    return InProcessOrdersClient(orders_service)


def usd(amount: int) -> Money:
    return Money(amount, "USD")


def a_place_order(**changes: Any) -> PlaceOrder:
    arguments: dict[str, Any] = {
        "customer_id": uuid.uuid4(),
        "cart_id": CART,
        "lines": [("SKU-A", 1, usd(100))],
        "total": usd(100),
        "shipping_address": ADDRESS,
        "payment_method": "tok_success",
        "idempotency_key": ref("key"),
    }
    return PlaceOrder(**(arguments | changes))


async def placed(
    client: OrdersClient, customer_id: uuid.UUID | None = None, *, key: str | None = None, units: int = 2
) -> OrderView:
    return await client.place_order(
        a_place_order(
            customer_id=customer_id or uuid.uuid4(),
            lines=[("SKU-A", units, usd(1_500)), ("SKU-B", 1, usd(499))],
            total=usd(units * 1_500 + 499),
            idempotency_key=key or ref("key"),
        )
    )


def described(exc: MercatoError) -> tuple[object, ...]:
    """Everything a caller can observe of an error."""
    errors = [(e.field, e.code, e.message) for e in field_errors(exc)]
    extras = {k: v for k, v in vars(exc).items() if k not in {"message", "code", "field", "errors"}}
    return (type(exc), exc.code, exc.field, exc.message, str(exc), errors, extras)


async def test_reads_return_equal_values(
    orders_service: OrdersService, grpc_orders: GrpcOrdersClient
) -> None:
    local = InProcessOrdersClient(orders_service)
    customer = uuid.uuid4()
    first = await placed(local, customer)
    await placed(local, customer, units=3)
    assert await grpc_orders.order(first.id) == await local.order(first.id)
    assert await grpc_orders.orders_for_customer(customer) == await local.orders_for_customer(customer)
    page = await local.orders_for_customer(customer, first=1)
    assert await grpc_orders.orders_for_customer(customer, first=1) == page
    assert page.has_next_page and page.end_cursor is not None
    after = page.end_cursor
    assert await grpc_orders.orders_for_customer(customer, first=1, after=after) == (
        await local.orders_for_customer(customer, first=1, after=after)
    )
    # No consumers run: the order stands PENDING, and a wait answers it as it stands.
    assert await grpc_orders.wait_for_terminal(first.id, 0.1) == await local.wait_for_terminal(first.id, 0)
    waited = await grpc_orders.wait_until(first.id, lambda o: o.status is OrderStatus.PENDING, 1)
    assert waited == await local.order(first.id)


async def test_a_placed_order_is_pending_and_readable(client: OrdersClient) -> None:
    customer = uuid.uuid4()
    order = await placed(client, customer)
    assert (order.status, order.reason, order.customer_id, order.total) == (
        OrderStatus.PENDING,
        None,
        customer,
        usd(3_499),
    )
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("SKU-A", 2, usd(1_500)),
        ("SKU-B", 1, usd(499)),
    ]
    assert dict(order.shipping_address) == ADDRESS.to_document()
    view = await client.order(order.id)
    assert view is not None
    assert (view.id, view.status, view.total, view.created_at) == (
        order.id,
        OrderStatus.PENDING,
        order.total,
        order.created_at,
    )
    assert dict(view.shipping_address) == ADDRESS.to_document()
    page = await client.orders_for_customer(customer)
    assert [o.id for o in page.items] == [order.id]
    assert not page.has_next_page


async def test_place_order_is_idempotent_by_customer_and_key(client: OrdersClient) -> None:
    customer, key = uuid.uuid4(), ref("key")
    first = await placed(client, customer, key=key)
    assert await placed(client, customer, key=key) == first
    with pytest.raises(Conflict) as caught:
        await placed(client, customer, key=key, units=5)
    assert isinstance(caught.value, IdempotencyKeyReused)
    assert caught.value.code is PlaceOrderErrorCode.IDEMPOTENCY_KEY_REUSED


async def test_a_caller_chosen_order_id_is_kept(client: OrdersClient) -> None:
    order_id = uuid.uuid4()
    order = await client.place_order(a_place_order(order_id=order_id))
    assert order.id == order_id


async def test_a_retry_from_the_emptied_cart_returns_the_first_order(client: OrdersClient) -> None:
    customer, key = uuid.uuid4(), ref("key")
    first = await placed(client, customer, key=key)
    again = await client.place_order(
        a_place_order(customer_id=customer, idempotency_key=key, lines=[], total=usd(0)), wait_seconds=0.1
    )
    assert again == first


async def test_an_unknown_order_reads_as_none(client: OrdersClient) -> None:
    missing = uuid.uuid4()
    assert await client.order(missing) is None
    assert await client.wait_for_terminal(missing, 0.1) is None
    assert await client.wait_until(missing, lambda o: True, 0.1) is None
    assert (await client.orders_for_customer(uuid.uuid4())).items == ()


async def test_typed_errors_arrive_identical_on_both_clients(
    orders_service: OrdersService, grpc_orders: GrpcOrdersClient
) -> None:
    local = InProcessOrdersClient(orders_service)
    customer, key = uuid.uuid4(), ref("key")
    pending = await placed(local, customer, key=key)
    missing = uuid.uuid4()

    def place(**changes: Any) -> Callable[[OrdersClient], Awaitable[object]]:
        cmd = a_place_order(**changes)
        return lambda c: c.place_order(cmd)

    calls: list[tuple[Callable[[OrdersClient], Awaitable[object]], Enum]] = [
        (place(total=usd(99)), PlaceOrderErrorCode.TOTAL_MISMATCH),
        (place(lines=[], total=usd(0)), PlaceOrderErrorCode.CART_EMPTY),
        (place(shipping_address=replace(ADDRESS, city="")), PlaceOrderErrorCode.REQUIRED),
        (
            place(customer_id=customer, idempotency_key=key, cart_id=uuid.uuid4()),
            PlaceOrderErrorCode.IDEMPOTENCY_KEY_REUSED,
        ),
        (
            place(customer_id=customer, idempotency_key=key, lines=[("SKU-C", 1, usd(100))]),
            PlaceOrderErrorCode.IDEMPOTENCY_KEY_REUSED,
        ),
        (place(order_id=pending.id), PlaceOrderErrorCode.ORDER_ID_TAKEN),
        (lambda c: c.orders_for_customer(customer, first=0), OrderQueryErrorCode.OUT_OF_RANGE),
        (lambda c: c.orders_for_customer(customer, after="garbage"), OrderQueryErrorCode.INVALID_CURSOR),
        (
            lambda c: c.cancel_order(CancelOrder(missing, actor="staff", reason="x", customer_id=None)),
            OrderCancelErrorCode.NOT_FOUND,
        ),
        (
            lambda c: c.cancel_order(
                CancelOrder(pending.id, actor="someone", reason="x", customer_id=uuid.uuid4())
            ),
            OrderCancelErrorCode.NOT_FOUND,
        ),
        (
            lambda c: c.fulfill_order(FulfillOrder(pending.id, tracking_number="TRK-1", actor="staff")),
            OrderFulfillErrorCode.INVALID_STATE,
        ),
        (
            lambda c: c.fulfill_order(FulfillOrder(missing, tracking_number="TRK-1", actor="staff")),
            OrderFulfillErrorCode.NOT_FOUND,
        ),
        (
            lambda c: c.refund_order(
                RefundOrder(pending.id, amount=usd(100), idempotency_key=ref("k"), actor="staff")
            ),
            OrderRefundErrorCode.INVALID_STATE,
        ),
        (
            lambda c: c.refund_order(
                RefundOrder(missing, amount=usd(100), idempotency_key=ref("k"), actor="staff")
            ),
            OrderRefundErrorCode.NOT_FOUND,
        ),
    ]
    for call, code in calls:
        seen = []
        for client in (local, grpc_orders):
            with pytest.raises(ClientError) as caught:
                await call(client)
            seen.append(described(caught.value))
        assert seen[0] == seen[1], code
        assert code in {e.code for e in field_errors(caught.value)}, code


async def test_a_call_without_a_service_token_is_refused(orders_channel: grpc.aio.Channel) -> None:
    stub = orders_service_pb2_grpc.OrdersServiceStub(orders_channel)  # type: ignore[no-untyped-call]
    request = orders_service_pb2.GetOrderRequest(order_id=str(uuid.uuid4()))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetOrder(request, timeout=2)
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    forged = GrpcOrdersClient(orders_channel, service="gateway", secret="y" * 48)
    with pytest.raises(Unauthenticated):
        await forged.order(uuid.uuid4())


async def test_the_health_service_answers_serving(orders_channel: grpc.aio.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(orders_channel)
    for service in ("", "mercato.orders.v1.OrdersService"):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_stopped_server_yields_unavailable_within_the_deadline(
    orders_service: OrdersService, settings: Settings
) -> None:
    server = GrpcServer([registration(orders_service)], secret=settings.auth_secret)
    await server.start()
    await server.stop(grace=None)
    channel = create_channel(f"127.0.0.1:{server.port}")
    try:
        client = GrpcOrdersClient(
            channel, service="gateway", secret=settings.auth_secret, policy=CallPolicy(timeout=0.5)
        )
        # The guard only stops a hang: a read is retried, but never past its 0.5 s deadline.
        async with asyncio.timeout(2):
            with pytest.raises(Unavailable):
                await client.order(uuid.uuid4())
            with pytest.raises(Unavailable):
                await client.fulfill_order(
                    FulfillOrder(uuid.uuid4(), tracking_number="T", actor="staff")
                )  # tried once
    finally:
        await channel.close()
