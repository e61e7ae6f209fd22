"""After the purchase: cancel, fulfil and refund an order, as pure functions of its saga state.

Each takes the saga's state (loaded under its lock) and returns the new state and the commands to
send, exactly like `saga.decide`; the replies then come back through `decide`. So cancellation
is the saga's own compensation run again (`saga.CANCEL_COMPENSATIONS`): release or restock the
stock, void or refund the payment, each command keyed by order id and step, and the order ends
CANCELLED once every undo is acknowledged. A repeated request answers the state unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from mercato.orders.domain.commands import CancelOrder, FulfillOrder, RefundOrder
from mercato.orders.domain.model import OrderStatus
from mercato.orders.domain.rules import (
    AlreadyFulfilled,
    InvalidOrderState,
    RefundExceedsCaptured,
    RefundKeyReused,
)
from mercato.orders.domain.saga import DEFAULT_POLICY, drive
from mercato.orders.domain.saga_types import Payment, SagaCommand, SagaPolicy, SagaState, staff_refunds
from mercato.platform.errors import Conflict, Problem
from mercato.platform.validation import Checks

TEXT_MAX = 200
TRACKING_MAX = 100

Outcome = tuple[SagaState, list[SagaCommand]]


def check_cancel(cmd: CancelOrder) -> None:
    checks = Checks()
    checks.text("reason", cmd.reason, max_length=TEXT_MAX, required=False)
    checks.raise_as(Problem)


def check_fulfil(cmd: FulfillOrder) -> None:
    checks = Checks()
    checks.text("trackingNumber", cmd.tracking_number, max_length=TRACKING_MAX)
    checks.raise_as(Problem)


def check_refund(cmd: RefundOrder) -> None:
    checks = Checks()
    checks.text("idempotencyKey", cmd.idempotency_key, max_length=TEXT_MAX)
    checks.that(cmd.amount.amount > 0, "amount", Problem.OUT_OF_RANGE, "a refund must be positive")
    checks.raise_as(Problem)


def cancel(s: SagaState, cmd: CancelOrder, now: datetime, policy: SagaPolicy = DEFAULT_POLICY) -> Outcome:
    """Undo whatever the order holds and end CANCELLED. Allowed until the order is shipped, at
    any point of the checkout (commands still out are undone when their replies land)."""
    if s.cancelled:
        return s, []  # a retry, or another person got there first: nothing more to do
    if s.tracking_number is not None:
        raise InvalidOrderState("the order was shipped; it can no longer be cancelled")
    if s.status in (OrderStatus.REJECTED, OrderStatus.COMPENSATING):
        raise InvalidOrderState(f"the order is {s.status.value}: there is nothing to cancel")
    if s.refunds_pending:
        # The amount left to refund is only known once they land; cancel then.
        raise InvalidOrderState("a refund of this order is in progress; try again shortly")
    changed = replace(
        s, status=OrderStatus.CANCELLING, cancelled_by=cmd.actor, cancel_reason=cmd.reason or None
    )
    return drive(s, changed, now, policy)


def fulfil(s: SagaState, cmd: FulfillOrder) -> Outcome:
    """CONFIRMED -> FULFILLED with its tracking number; the same number again changes nothing."""
    if s.tracking_number is not None:
        if s.tracking_number == cmd.tracking_number:
            return s, []
        raise AlreadyFulfilled()
    if s.status is not OrderStatus.CONFIRMED:
        raise InvalidOrderState(f"only a CONFIRMED order can be fulfilled; this one is {s.status.value}")
    return replace(s, status=OrderStatus.FULFILLED, tracking_number=cmd.tracking_number), []


def refund(s: SagaState, cmd: RefundOrder, now: datetime, policy: SagaPolicy = DEFAULT_POLICY) -> Outcome:
    """Send a refund of `cmd.amount`: at most what was captured and not refunded (or asked to be).
    The order becomes PARTIALLY_REFUNDED / REFUNDED when payments confirms it (`saga.decide`)."""
    for key, amount in s.refunds:
        if key == cmd.idempotency_key:
            if amount != cmd.amount.amount or cmd.amount.currency != s.amount.currency:
                raise RefundKeyReused()
            return s, []
    if s.cancelled or not s.status.is_after_purchase or s.payment is not Payment.CAPTURED:
        raise InvalidOrderState(f"the order is {s.status.value}: it has no payment left to refund")
    if cmd.amount.currency != s.amount.currency:
        raise Conflict(f"the order was paid in {s.amount.currency}", code="CURRENCY_MISMATCH", field="amount")
    refundable = s.amount.amount - max(s.refunded, s.refund_requested)
    if cmd.amount.amount > refundable:
        raise RefundExceedsCaptured(refundable)
    after = replace(
        s,
        refunds=(*s.refunds, (cmd.idempotency_key, cmd.amount.amount)),
        deadline=now + policy.step_timeout,  # re-sent until payments confirms it
        attempts=0,
    )
    return after, [staff_refunds(after)[-1]]
