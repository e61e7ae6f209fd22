"""Checkout and orders in the GraphQL API.

`checkoutComplete` turns the caller's cart into an order and waits a short, configurable time for the
saga to confirm or reject it; a slower saga answers PENDING and the client polls `order(id)`.
The same idempotency key always leads to the same order: the order id is derived from
(customer, key), so a retry finds the order even after its cart was emptied.
"""

from __future__ import annotations

import uuid

import strawberry

from mercato.gateway.graphql.core.errors import payload_errors
from mercato.gateway.graphql.core.ids import parse_id
from mercato.gateway.graphql.customers.types import AddressInput
from mercato.gateway.graphql.orders import after_purchase
from mercato.gateway.graphql.orders.types import Order, OrderConnection, customer_orders
from mercato.orders.domain.errors import CheckoutCompleteErrorCode
from mercato.orders.domain.model import OrderStatus
from mercato.platform.auth import Permission, Principal, Unauthenticated
from mercato.platform.errors import ClientError, recode
from mercato.platform.validation import Checks

strawberry.enum(CheckoutCompleteErrorCode)

_ORDER_IDS = uuid.UUID("6f1d3c5e-2b8a-4e0f-9a7d-1c2b3d4e5f60")  # namespace for derived order ids
_TERMINAL = (OrderStatus.CONFIRMED, OrderStatus.REJECTED)


@strawberry.type
class CheckoutCompleteError:
    field: str | None
    code: CheckoutCompleteErrorCode
    message: str


@strawberry.type
class CheckoutCompletePayload:
    order: Order | None = None
    errors: list[CheckoutCompleteError] = strawberry.field(default_factory=list)


def order_id_for(customer_id: uuid.UUID, idempotency_key: str) -> uuid.UUID:
    return uuid.uuid5(_ORDER_IDS, f"{customer_id}:{idempotency_key}")


def _check_address(address: AddressInput, key: str, token: str) -> None:
    checks = Checks()
    checks.text("idempotencyKey", key, max_length=200)
    checks.text("paymentToken", token, max_length=200)
    for name, value, limit in (
        ("shippingAddress.firstName", address.first_name, 100),
        ("shippingAddress.lastName", address.last_name, 100),
        ("shippingAddress.line1", address.line1, 200),
        ("shippingAddress.city", address.city, 100),
    ):
        checks.text(name, value, max_length=limit)
    for name, value, limit in (
        ("shippingAddress.line2", address.line2, 200),
        ("shippingAddress.postalCode", address.postal_code, 20),
        ("shippingAddress.phone", address.phone, 40),
    ):
        checks.text(name, value, max_length=limit, required=False)
    country = address.country
    checks.that(
        len(country) == 2 and country.isascii() and country.isalpha(),
        "shippingAddress.country",
        CheckoutCompleteErrorCode.INVALID,
        "country must be an ISO 3166-1 alpha-2 code",
    )
    checks.raise_as(CheckoutCompleteErrorCode)


def _customer(info: strawberry.Info) -> Principal:
    principal: Principal | None = info.context.principal
    if principal is None:
        raise Unauthenticated(
            info.context.auth_error or "sign in to check out", code=CheckoutCompleteErrorCode.UNAUTHENTICATED
        )
    return principal


def _may_see(principal: Principal | None, customer_id: uuid.UUID) -> bool:
    return principal is not None and (
        principal.user_id == customer_id or principal.has(Permission.ORDERS_MANAGE)
    )


@strawberry.type
class OrdersQueries:
    @strawberry.field(
        description="An order you placed (staff with orders:manage see every order); else null."
    )
    async def order(self, info: strawberry.Info, id: strawberry.ID) -> Order | None:
        try:
            order_id = parse_id(id, "id")
        except ClientError:
            return None
        view = await info.context.clients.orders.order(order_id)
        if view is None or not _may_see(info.context.principal, view.customer_id):
            return None  # someone else's order looks exactly like a missing one
        return Order.of(view)

    @strawberry.field(description="Your orders, newest first, a page at a time.")
    async def my_orders(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> OrderConnection:
        principal: Principal | None = info.context.principal
        if principal is None:
            raise Unauthenticated(info.context.auth_error or "sign in to see your orders")
        return await customer_orders(info, principal.user_id, first, after)


@strawberry.type
class OrdersMutations:
    order_cancel = strawberry.mutation(
        resolver=after_purchase.order_cancel,
        description="Cancel an order not shipped yet (yours, or any with orders:manage): its stock "
        "and payment go back.",
    )
    order_fulfill = strawberry.mutation(
        resolver=after_purchase.order_fulfill,
        description="Mark a confirmed order shipped, with its tracking number (orders:manage).",
    )
    order_refund = strawberry.mutation(
        resolver=after_purchase.order_refund,
        description="Refund part or all of a paid order (payments:refund); idempotent by key.",
    )

    @strawberry.mutation(description="Place an order for the cart's contents and pay with `paymentToken`.")
    async def checkout_complete(
        self,
        info: strawberry.Info,
        cart_id: strawberry.ID,
        payment_token: str,
        shipping_address: AddressInput,
        idempotency_key: str,
    ) -> CheckoutCompletePayload:
        clients = info.context.clients
        try:
            principal = _customer(info)
            _check_address(shipping_address, idempotency_key, payment_token)
            order_id = order_id_for(principal.user_id, idempotency_key)
            existing = await clients.orders.order(order_id)
            if existing is None:
                snapshot = await clients.cart.checkout_snapshot(parse_id(cart_id, "cartId"), principal)
                await clients.orders.place_order(
                    customer_id=principal.user_id,
                    lines=[(line.sku, line.quantity, line.unit_price) for line in snapshot.lines],
                    total=snapshot.total,
                    shipping_address={
                        "first_name": shipping_address.first_name,
                        "last_name": shipping_address.last_name,
                        "line1": shipping_address.line1,
                        "line2": shipping_address.line2,
                        "city": shipping_address.city,
                        "postal_code": shipping_address.postal_code,
                        "country": shipping_address.country.upper(),
                        "phone": shipping_address.phone,
                    },
                    payment_token=payment_token,
                    idempotency_key=idempotency_key,
                    order_id=order_id,
                )
        except ClientError as exc:
            return CheckoutCompletePayload(
                errors=payload_errors(recode(exc, CheckoutCompleteErrorCode), CheckoutCompleteError)
            )
        except Unauthenticated as exc:
            return CheckoutCompletePayload(
                errors=[
                    CheckoutCompleteError(
                        field=None, code=CheckoutCompleteErrorCode.UNAUTHENTICATED, message=exc.message
                    )
                ]
            )
        view = await clients.orders.wait_for_terminal(order_id, info.context.settings.checkout_wait_seconds)
        if view is None:  # pragma: no cover - the order was committed above
            return CheckoutCompletePayload()
        if existing is None and view.status is OrderStatus.CONFIRMED:
            await clients.cart.clear(parse_id(cart_id, "cartId"))
        return CheckoutCompletePayload(order=Order.of(view))
