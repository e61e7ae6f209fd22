"""Events the orders publish (subjects `<ns>.orders.v1.<name>`), aggregate id: the order id.

Two kinds: the saga's commands to its participants (`*_requested`, consumed by the inventory and
payments), and the order's own lifecycle (`order_placed`, `order_confirmed`, `order_rejected`).
A command's `reference` / `order_id` is how the participant's reply finds the saga again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mercato.orders.domain.saga_types import (
    AuthorizePayment,
    CapturePayment,
    CommitStock,
    RefundPayment,
    ReleaseStock,
    ReserveStock,
    SagaCommand,
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
class AuthorizePaymentRequested(OrdersEvent):
    name: ClassVar[str] = "authorize_payment_requested"
    amount: int  # minor units
    currency: str
    payment_token: str
    idempotency_key: str


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
    name: ClassVar[str] = "order_confirmed"
    customer_id: str


@dataclass(frozen=True, kw_only=True)
class OrderRejected(OrdersEvent):
    name: ClassVar[str] = "order_rejected"
    customer_id: str
    reason: str


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
    if isinstance(cmd, AuthorizePayment):
        return AuthorizePaymentRequested(
            aggregate_id=oid,
            order_id=oid,
            amount=cmd.amount.amount,
            currency=cmd.amount.currency,
            payment_token=cmd.payment_token,
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
