"""Cancel, fulfil and refund as pure transitions of the saga state, and the replies that end them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mercato.orders.domain import after_purchase
from mercato.orders.domain.commands import CancelOrder, FulfillOrder, RefundOrder
from mercato.orders.domain.model import OrderStatus as S
from mercato.orders.domain.rules import (
    AlreadyFulfilled,
    InvalidOrderState,
    RefundExceedsCaptured,
    RefundKeyReused,
)
from mercato.orders.domain.saga import decide
from mercato.orders.domain.saga_types import (
    Payment,
    PaymentRefunded,
    RefundPayment,
    ReleaseStock,
    RestockStock,
    Stock,
    StockCommitted,
    StockReleased,
    StockRestocked,
    Timeout,
    VoidPayment,
)
from mercato.platform.types import Money
from tests.unit.orders.saga_world import IID, ORDER, RID
from tests.unit.orders.test_saga_table import DUE, POLICY, STATES, T0

CANCEL = CancelOrder(order_id=ORDER, actor="user-1", reason="changed my mind")
CONFIRMED = STATES["confirmed"]


def refund(amount: int, key: str = "r1") -> RefundOrder:
    return RefundOrder(order_id=ORDER, amount=Money(amount, "EUR"), idempotency_key=key, actor="staff")


# state -> (status after the cancel, stock, payment, commands sent)
CANCEL_TABLE = {
    "pending": (S.CANCELLED, Stock.REQUESTED, Payment.NONE, ()),
    # The payment's reply, when it comes, is undone then (a capture refunded, an authorization voided).
    "reserved": (S.CANCELLING, Stock.RELEASING, Payment.CHARGING, (ReleaseStock,)),
    "reserved_before": (S.CANCELLING, Stock.RELEASING, Payment.REQUESTED, (ReleaseStock,)),
    "authorized": (S.CANCELLING, Stock.RELEASING, Payment.VOIDING, (VoidPayment, ReleaseStock)),
    "captured": (S.CANCELLING, Stock.RELEASING, Payment.REFUNDING, (RefundPayment, ReleaseStock)),
    "confirmed": (S.CANCELLING, Stock.RESTOCKING, Payment.REFUNDING, (RestockStock, RefundPayment)),
}


@pytest.mark.parametrize("name", sorted(CANCEL_TABLE))
def test_cancel_undoes_what_the_order_holds(name: str) -> None:
    after, commands = after_purchase.cancel(STATES[name], CANCEL, T0, POLICY)
    status, stock, payment, sent = CANCEL_TABLE[name]
    assert (after.status, after.stock, after.payment) == (status, stock, payment)
    assert tuple(type(c) for c in commands) == sent
    assert (after.cancelled_by, after.cancel_reason) == ("user-1", "changed my mind")
    assert (after.deadline is not None) == bool(sent)


@pytest.mark.parametrize("name", ["declined", "expired", "out_of_stock", "timed_out"])
def test_a_rejected_or_compensating_order_cannot_be_cancelled(name: str) -> None:
    with pytest.raises(InvalidOrderState):
        after_purchase.cancel(STATES[name], CANCEL, T0, POLICY)


def test_a_confirmed_order_ends_cancelled_once_stock_and_money_are_back() -> None:
    cancelling, _ = after_purchase.cancel(CONFIRMED, CANCEL, T0, POLICY)
    restocked, sent = decide(cancelling, StockRestocked(RID), DUE, POLICY)
    assert (restocked.status, restocked.stock, sent) == (S.CANCELLING, Stock.RESTOCKED, [])
    done, sent = decide(restocked, PaymentRefunded(IID, refunded_total=5000), DUE, POLICY)
    assert (done.status, done.payment, done.refunded, done.deadline, sent) == (
        S.CANCELLED,
        Payment.REFUNDED,
        5000,
        None,
        [],
    )
    assert after_purchase.cancel(done, CANCEL, DUE, POLICY) == (done, [])  # a retry: nothing more


def test_a_cancel_refunds_only_what_staff_did_not_refund_already() -> None:
    partly = replace(CONFIRMED, status=S.PARTIALLY_REFUNDED, refunded=1000, refunds=(("r1", 1000),))
    _, commands = after_purchase.cancel(partly, CANCEL, T0, POLICY)
    assert [c.amount for c in commands if isinstance(c, RefundPayment)] == [Money(4000, "EUR")]


def test_a_cancel_racing_the_commit_restocks_what_the_commit_sold() -> None:
    cancelling, _ = after_purchase.cancel(STATES["captured"], CANCEL, T0, POLICY)
    committed, sent = decide(cancelling, StockCommitted(RID), DUE, POLICY)
    assert (committed.stock, [type(c) for c in sent]) == (Stock.RESTOCKING, [RestockStock])
    late_release, _ = decide(committed, StockReleased(RID), DUE, POLICY)
    assert late_release.stock is Stock.RESTOCKING  # a sold reservation cannot be released


def test_fulfil_is_for_confirmed_orders_and_idempotent_by_tracking_number() -> None:
    shipped, sent = after_purchase.fulfil(CONFIRMED, FulfillOrder(ORDER, "TRK-1", "staff"))
    assert (shipped.status, shipped.tracking_number, sent) == (S.FULFILLED, "TRK-1", [])
    assert after_purchase.fulfil(shipped, FulfillOrder(ORDER, "TRK-1", "staff")) == (shipped, [])
    with pytest.raises(AlreadyFulfilled):
        after_purchase.fulfil(shipped, FulfillOrder(ORDER, "TRK-2", "staff"))
    with pytest.raises(InvalidOrderState):
        after_purchase.fulfil(STATES["captured"], FulfillOrder(ORDER, "TRK-1", "staff"))
    with pytest.raises(InvalidOrderState):
        after_purchase.cancel(shipped, CANCEL, T0, POLICY)


def test_partial_then_full_refund() -> None:
    first, sent = after_purchase.refund(CONFIRMED, refund(1500), T0, POLICY)
    assert [(c.amount, c.idempotency_key) for c in sent if isinstance(c, RefundPayment)] == [
        (Money(1500, "EUR"), f"order:{ORDER}:refund-1")
    ]
    assert first.deadline is not None and first.status is S.CONFIRMED
    assert after_purchase.refund(first, refund(1500), T0, POLICY) == (first, [])  # a retry
    with pytest.raises(RefundKeyReused):
        after_purchase.refund(first, refund(1600), T0, POLICY)
    with pytest.raises(RefundExceedsCaptured):
        after_purchase.refund(first, refund(3501, "r2"), T0, POLICY)  # 1500 already asked
    with pytest.raises(InvalidOrderState):
        after_purchase.cancel(first, CANCEL, T0, POLICY)  # a refund in flight

    partly, _ = decide(first, PaymentRefunded(IID, refunded_total=1500), DUE, POLICY)
    assert (partly.status, partly.refunded, partly.deadline) == (S.PARTIALLY_REFUNDED, 1500, None)
    rest, _ = after_purchase.refund(partly, refund(3500, "r2"), T0, POLICY)
    full, _ = decide(rest, PaymentRefunded(IID, refunded_total=5000), DUE, POLICY)
    assert (full.status, full.payment, full.refunded) == (S.REFUNDED, Payment.REFUNDED, 5000)
    stale, _ = decide(full, PaymentRefunded(IID, refunded_total=1500), DUE, POLICY)
    assert stale == full


def test_unconfirmed_staff_refunds_are_re_sent_on_timeout() -> None:
    first, _ = after_purchase.refund(CONFIRMED, refund(1500), T0, POLICY)
    assert first.deadline is not None
    again, sent = decide(first, Timeout(), first.deadline, POLICY)
    assert [c.idempotency_key for c in sent if isinstance(c, RefundPayment)] == [f"order:{ORDER}:refund-1"]
    assert again.attempts == 1
