"""Checkout and orders in the GraphQL API.

`checkoutComplete` parses, asks the cart for its priced snapshot, and sends one `PlaceOrder` to the
orders, which place the order and wait a short, configurable time for the saga to confirm or reject
it; a slower saga answers PENDING and the client polls `order(id)`. Everything else is the orders'
use case: the order id derived from (customer, key), so a retry finds the order even after its cart
was emptied; the shipping address rules (the shared postal address); the key reused for another
cart refused. The cart context empties the cart when the order's confirmation event reaches it.
"""

from __future__ import annotations

import time
import uuid
from enum import Enum

import strawberry

from mercato.cart.client import CartClient
from mercato.gateway.graphql.core.auth import request_client_ip
from mercato.gateway.graphql.core.errors import payload_errors
from mercato.gateway.graphql.core.ids import parse_id
from mercato.gateway.graphql.customers.types import AddressInput
from mercato.gateway.graphql.orders import after_purchase
from mercato.gateway.graphql.orders.types import Order, OrderConnection, customer_orders
from mercato.orders.domain.commands import PlaceOrder
from mercato.orders.domain.errors import CheckoutCompleteErrorCode
from mercato.platform.auth import Permission, Principal, Unauthenticated
from mercato.platform.business_metrics import checkout_duration
from mercato.platform.errors import ClientError, recode
from mercato.platform.types import Money

strawberry.enum(CheckoutCompleteErrorCode)


@strawberry.type
class CheckoutCompleteError:
    field: str | None
    code: CheckoutCompleteErrorCode
    message: str


@strawberry.type
class CheckoutCompletePayload:
    order: Order | None = None
    errors: list[CheckoutCompleteError] = strawberry.field(default_factory=list)


async def _cart_contents(
    cart: CartClient, cart_id: uuid.UUID, principal: Principal, currency: str
) -> tuple[list[tuple[str, int, Money]], Money]:
    """The cart's lines as priced now, or none when it is empty: a retry after the first attempt's
    confirmation emptied it, which the orders answer with that first order."""
    try:
        snapshot = await cart.checkout_snapshot(cart_id, principal)
    except ClientError as exc:
        if isinstance(exc.code, Enum) and exc.code.name == CheckoutCompleteErrorCode.CART_EMPTY.name:
            return [], Money(0, currency)
        raise
    return [(line.sku, line.quantity, line.unit_price) for line in snapshot.lines], snapshot.total


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
        clients, settings = info.context.clients, info.context.settings
        started = time.perf_counter()
        try:
            # Counted before anything else: per customer, or per address for an anonymous caller.
            limits = getattr(info.context, "rate_limits", None)
            if limits is not None:
                await limits.checkout(info.context.principal, request_client_ip(info.context))
            principal = _customer(info)
            cart = parse_id(cart_id, "cartId")
            lines, total = await _cart_contents(clients.cart, cart, principal, settings.default_currency)
            # The token goes no further than payments: the saga, NATS and logs get the reference.
            payment_method = await clients.payments.vault_payment_method(
                principal.user_id, payment_token, idempotency_key
            )
            view = await clients.orders.place_order(
                PlaceOrder(
                    customer_id=principal.user_id,
                    idempotency_key=idempotency_key,
                    cart_id=cart,
                    lines=lines,
                    total=total,
                    shipping_address=shipping_address.to_fields(),
                    payment_method=payment_method,
                ),
                wait_seconds=settings.checkout_wait_seconds,
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
        checkout_duration.labels(view.status.value).observe(time.perf_counter() - started)
        return CheckoutCompletePayload(order=Order.of(view))
