"""orderCancel, orderFulfill and orderRefund: after the purchase.

Who may do what: the owning customer may cancel their own order; staff with orders:manage cancel
and fulfil any order; staff with payments:refund refund. A customer asking about someone else's
order gets NOT_FOUND, exactly as for a missing one; staff lacking the permission get
PERMISSION_DENIED. Each mutation records the request (the compensation runs over the saga) and
waits up to `checkout_wait_seconds` for it to land, then answers the order as it stands.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from enum import Enum
from typing import TypeVar

import strawberry

from mercato.gateway.graphql.core.errors import payload_errors
from mercato.gateway.graphql.core.ids import parse_id
from mercato.gateway.graphql.core.types import MoneyInput
from mercato.gateway.graphql.orders.types import Order
from mercato.orders.domain.commands import CancelOrder, FulfillOrder, RefundOrder
from mercato.orders.domain.errors import OrderCancelErrorCode, OrderFulfillErrorCode, OrderRefundErrorCode
from mercato.orders.domain.model import OrderStatus
from mercato.orders.service_layer.queries import OrderView
from mercato.platform.auth import Permission, Principal, Role
from mercato.platform.errors import ClientError, recode
from mercato.platform.types import Money, MoneyError

strawberry.enum(OrderCancelErrorCode)
strawberry.enum(OrderFulfillErrorCode)
strawberry.enum(OrderRefundErrorCode)

E = TypeVar("E")


@strawberry.type
class OrderCancelError:
    field: str | None
    code: OrderCancelErrorCode
    message: str


@strawberry.type
class OrderCancelPayload:
    order: Order | None = None
    errors: list[OrderCancelError] = strawberry.field(default_factory=list)


@strawberry.type
class OrderFulfillError:
    field: str | None
    code: OrderFulfillErrorCode
    message: str


@strawberry.type
class OrderFulfillPayload:
    order: Order | None = None
    errors: list[OrderFulfillError] = strawberry.field(default_factory=list)


@strawberry.type
class OrderRefundError:
    field: str | None
    code: OrderRefundErrorCode
    message: str


@strawberry.type
class OrderRefundPayload:
    order: Order | None = None
    errors: list[OrderRefundError] = strawberry.field(default_factory=list)


class Refused(ClientError):
    """A refusal decided here (authentication, authorization), with a string code to re-code."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message, code=code, field=field)


def _principal(info: strawberry.Info) -> Principal:
    principal: Principal | None = info.context.principal
    if principal is None:
        raise Refused("UNAUTHENTICATED", info.context.auth_error or "sign in first")
    return principal


async def _authorized(
    info: strawberry.Info, order_id: uuid.UUID, permission: Permission, *, owner_may: bool
) -> tuple[Principal, OrderView | None, bool]:
    """(principal, the order as it is, whether the principal acts as staff) or a refusal."""
    principal = _principal(info)
    view = await info.context.clients.orders.order(order_id)
    if principal.has(permission):
        return principal, view, True
    owns = view is not None and view.customer_id == principal.user_id
    if owns and owner_may:
        return principal, view, False
    if principal.role is Role.CUSTOMER and not owns:
        raise Refused("NOT_FOUND", "order not found", "id")  # never tell "not yours" from "missing"
    raise Refused("PERMISSION_DENIED", f"this needs the {permission.value} permission")


async def _settled(
    info: strawberry.Info, order_id: uuid.UUID, done: Callable[[OrderView], bool]
) -> Order | None:
    view = await info.context.clients.orders.wait_until(
        order_id, done, info.context.settings.checkout_wait_seconds
    )
    return Order.of(view) if view is not None else None


def _errors(exc: ClientError, codes: type[Enum], error_type: Callable[..., E]) -> list[E]:
    return payload_errors(recode(exc, codes), error_type)


def _refunded(view: OrderView) -> int:
    return view.refunded.amount if view.refunded is not None else 0


async def order_cancel(
    info: strawberry.Info, id: strawberry.ID, reason: str | None = None
) -> OrderCancelPayload:
    try:
        order_id = parse_id(id, "id")
        principal, _, as_staff = await _authorized(info, order_id, Permission.ORDERS_MANAGE, owner_may=True)
        await info.context.clients.orders.cancel_order(
            CancelOrder(
                order_id,
                actor=str(principal.user_id),
                reason=reason or "",
                customer_id=None if as_staff else principal.user_id,
            )
        )
    except ClientError as exc:
        return OrderCancelPayload(errors=_errors(exc, OrderCancelErrorCode, OrderCancelError))
    order = await _settled(info, order_id, lambda v: v.status is not OrderStatus.CANCELLING)
    return OrderCancelPayload(order=order)


async def order_fulfill(
    info: strawberry.Info, id: strawberry.ID, tracking_number: str
) -> OrderFulfillPayload:
    try:
        order_id = parse_id(id, "id")
        principal, _, _ = await _authorized(info, order_id, Permission.ORDERS_MANAGE, owner_may=False)
        await info.context.clients.orders.fulfill_order(
            FulfillOrder(order_id, tracking_number=tracking_number, actor=str(principal.user_id))
        )
    except ClientError as exc:
        return OrderFulfillPayload(errors=_errors(exc, OrderFulfillErrorCode, OrderFulfillError))
    return OrderFulfillPayload(order=await _settled(info, order_id, lambda v: True))


async def order_refund(
    info: strawberry.Info, id: strawberry.ID, amount: MoneyInput, idempotency_key: str
) -> OrderRefundPayload:
    try:
        order_id = parse_id(id, "id")
        principal, view, _ = await _authorized(info, order_id, Permission.PAYMENTS_REFUND, owner_may=False)
        try:
            money = Money.from_decimal_string(amount.amount, amount.currency.upper())
        except MoneyError as exc:
            raise Refused("INVALID", str(exc), "amount") from None
        sent = await info.context.clients.orders.refund_order(
            RefundOrder(order_id, amount=money, idempotency_key=idempotency_key, actor=str(principal.user_id))
        )
    except ClientError as exc:
        return OrderRefundPayload(errors=_errors(exc, OrderRefundErrorCode, OrderRefundError))
    # A new refund: until payments confirms it. A retry answers the order as it stands.
    target = _refunded(view) + money.amount if sent and view is not None else 0
    order = await _settled(info, order_id, lambda v: _refunded(v) >= target)
    return OrderRefundPayload(order=order)
