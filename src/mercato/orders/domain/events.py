"""Events the orders publish (subjects `<ns>.orders.v1.<name>`), aggregate id: the order id.

Two kinds: the saga's commands to its participants (`*_requested`, consumed by the inventory and
payments; `authorize_payment_requested` and `capture_payment_requested` go only to sagas that
sent them before `authorize_and_capture_payment_requested` replaced the pair), and the order's own
lifecycle (`order_placed`, `order_confirmed`, `order_rejected`, `order_cancelled`,
`order_fulfilled`, `order_refunded`).
A command's `reference` / `order_id` is how the participant's reply finds the saga again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from mercato.orders.domain.model import OrderStatus
from mercato.orders.domain.saga_types import (
    AuthorizeAndCapturePayment,
    AuthorizePayment,
    CapturePayment,
    CommitStock,
    RefundPayment,
    ReleaseStock,
    ReserveStock,
    RestockStock,
    SagaCommand,
    SagaState,
    VoidPayment,
)
from mercato.platform.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class OrdersEvent(DomainEvent):
    context: ClassVar[str] = "orders"
    order_id: str


@dataclass(frozen=True, kw_only=True)
class ReserveStockRequested(OrdersEvent):
    name: ClassVar[str] = "reserve_stock_requested"
    reference: str
    lines: list[dict[str, object]]  # [{sku, quantity}]
    ttl_seconds: int


@dataclass(frozen=True, kw_only=True)
class CommitStockRequested(OrdersEvent):
    name: ClassVar[str] = "commit_stock_requested"
    reference: str
    reservation_id: str


@dataclass(frozen=True, kw_only=True)
class ReleaseStockRequested(OrdersEvent):
    name: ClassVar[str] = "release_stock_requested"
    reference: str
    reservation_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RestockStockRequested(OrdersEvent):
    name: ClassVar[str] = "restock_stock_requested"
    reference: str
    reservation_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class AuthorizePaymentRequested(OrdersEvent):
    name: ClassVar[str] = "authorize_payment_requested"
    amount: int  # minor units
    currency: str
    payment_method: str
    idempotency_key: str


@dataclass(frozen=True, kw_only=True)
class AuthorizeAndCapturePaymentRequested(OrdersEvent):
    """The saga's payment step: authorize, then capture all of it (`idempotency_key` is the
    authorization's, `capture_idempotency_key` the capture's)."""

    name: ClassVar[str] = "authorize_and_capture_payment_requested"
    amount: int  # minor units
    currency: str
    payment_method: str
    idempotency_key: str
    capture_idempotency_key: str


@dataclass(frozen=True, kw_only=True)
class CapturePaymentRequested(OrdersEvent):
    name: ClassVar[str] = "capture_payment_requested"
    intent_id: str
    idempotency_key: str


@dataclass(frozen=True, kw_only=True)
class VoidPaymentRequested(OrdersEvent):
    name: ClassVar[str] = "void_payment_requested"
    intent_id: str
    idempotency_key: str


@dataclass(frozen=True, kw_only=True)
class RefundPaymentRequested(OrdersEvent):
    name: ClassVar[str] = "refund_payment_requested"
    intent_id: str
    amount: int
    currency: str
    idempotency_key: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(OrdersEvent):
    name: ClassVar[str] = "order_placed"
    customer_id: str
    total_amount: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class OrderConfirmed(OrdersEvent):
    """The order went through. `cart_id` (empty when it came from no cart) and `lines` tell the cart
    context what was bought, so it removes exactly that from the cart, once."""

    name: ClassVar[str] = "order_confirmed"
    customer_id: str
    cart_id: str = ""
    lines: list[dict[str, Any]] = field(default_factory=list)  # [{sku, quantity}]


@dataclass(frozen=True, kw_only=True)
class OrderRejected(OrdersEvent):
    name: ClassVar[str] = "order_rejected"
    customer_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(OrdersEvent):
    """Every undo acknowledged: stock back, money back (`refunded_total`, minor units)."""

    name: ClassVar[str] = "order_cancelled"
    customer_id: str
    actor: str
    reason: str
    refunded_total: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class OrderFulfilled(OrdersEvent):
    name: ClassVar[str] = "order_fulfilled"
    customer_id: str
    tracking_number: str


@dataclass(frozen=True, kw_only=True)
class OrderRefunded(OrdersEvent):
    """Payments confirmed a refund: `amount` what it moved, `refunded_total` the order's total so
    far, `status` the order's status after it (PARTIALLY_REFUNDED, REFUNDED, or CANCELLING /
    CANCELLED for a cancellation's refund)."""

    name: ClassVar[str] = "order_refunded"
    customer_id: str
    amount: int
    refunded_total: int
    currency: str
    status: str


def lifecycle(before: SagaState, after: SagaState, customer_id: str, cart_id: str = "") -> list[OrdersEvent]:
    """The order's lifecycle events implied by one saga step."""
    oid, cid = str(after.order_id), customer_id
    out: list[OrdersEvent] = []
    if after.refunded > before.refunded:
        out.append(
            OrderRefunded(
                aggregate_id=oid,
                order_id=oid,
                customer_id=cid,
                amount=after.refunded - before.refunded,
                refunded_total=after.refunded,
                currency=after.amount.currency,
                status=after.status.value,
            )
        )
    if after.status is before.status:
        return out
    if after.status is OrderStatus.CONFIRMED:
        lines = [{"sku": sku, "quantity": quantity} for sku, quantity in after.lines]
        out.append(
            OrderConfirmed(aggregate_id=oid, order_id=oid, customer_id=cid, cart_id=cart_id, lines=lines)
        )
    elif after.status is OrderStatus.REJECTED:
        reason = after.reason.value if after.reason else ""
        out.append(OrderRejected(aggregate_id=oid, order_id=oid, customer_id=cid, reason=reason))
    elif after.status is OrderStatus.CANCELLED:
        out.append(
            OrderCancelled(
                aggregate_id=oid,
                order_id=oid,
                customer_id=cid,
                actor=after.cancelled_by or "",
                reason=after.cancel_reason or "",
                refunded_total=after.refunded,
                currency=after.amount.currency,
            )
        )
    elif after.status is OrderStatus.FULFILLED and after.tracking_number is not None:
        out.append(
            OrderFulfilled(
                aggregate_id=oid, order_id=oid, customer_id=cid, tracking_number=after.tracking_number
            )
        )
    return out


def command_event(cmd: SagaCommand) -> OrdersEvent:
    """The event that carries one saga command to its participant."""
    oid = str(cmd.order_id)
    if isinstance(cmd, ReserveStock):
        lines: list[dict[str, object]] = [{"sku": sku, "quantity": qty} for sku, qty in cmd.lines]
        return ReserveStockRequested(
            aggregate_id=oid, order_id=oid, reference=oid, lines=lines, ttl_seconds=cmd.ttl_seconds
        )
    if isinstance(cmd, CommitStock):
        return CommitStockRequested(
            aggregate_id=oid, order_id=oid, reference=oid, reservation_id=cmd.reservation_id
        )
    if isinstance(cmd, ReleaseStock):
        return ReleaseStockRequested(
            aggregate_id=oid,
            order_id=oid,
            reference=oid,
            reservation_id=cmd.reservation_id,
            reason=cmd.reason,
        )
    if isinstance(cmd, RestockStock):
        return RestockStockRequested(
            aggregate_id=oid,
            order_id=oid,
            reference=oid,
            reservation_id=cmd.reservation_id,
            reason=cmd.reason,
        )
    if isinstance(cmd, AuthorizeAndCapturePayment):
        return AuthorizeAndCapturePaymentRequested(
            aggregate_id=oid,
            order_id=oid,
            amount=cmd.amount.amount,
            currency=cmd.amount.currency,
            payment_method=cmd.payment_method,
            idempotency_key=cmd.idempotency_key,
            capture_idempotency_key=cmd.capture_idempotency_key,
        )
    if isinstance(cmd, AuthorizePayment):
        return AuthorizePaymentRequested(
            aggregate_id=oid,
            order_id=oid,
            amount=cmd.amount.amount,
            currency=cmd.amount.currency,
            payment_method=cmd.payment_method,
            idempotency_key=cmd.idempotency_key,
        )
    if isinstance(cmd, CapturePayment):
        return CapturePaymentRequested(
            aggregate_id=oid, order_id=oid, intent_id=cmd.intent_id, idempotency_key=cmd.idempotency_key
        )
    if isinstance(cmd, VoidPayment):
        return VoidPaymentRequested(
            aggregate_id=oid, order_id=oid, intent_id=cmd.intent_id, idempotency_key=cmd.idempotency_key
        )
    assert isinstance(cmd, RefundPayment)
    return RefundPaymentRequested(
        aggregate_id=oid,
        order_id=oid,
        intent_id=cmd.intent_id,
        amount=cmd.amount.amount,
        currency=cmd.amount.currency,
        idempotency_key=cmd.idempotency_key,
        reason=cmd.reason,
    )
