"""Every (state, message) pair of the checkout saga, with what it must become and send.

States are the ones the saga reaches on its paths (forward, compensating, terminal); messages
are every reply kind plus the clock. Ids match the state's, so duplicates are duplicates.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mercato.orders.domain.model import OrderStatus as S
from mercato.orders.domain.model import RejectReason
from mercato.orders.domain.saga import decide
from mercato.orders.domain.saga_types import (
    AuthorizeAndCapturePayment,
    AuthorizePayment,
    CapturePayment,
    CommitStock,
    Payment,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentCaptureFailed,
    PaymentDeclined,
    PaymentRefunded,
    PaymentVoided,
    RefundPayment,
    ReleaseStock,
    ReserveStock,
    SagaMessage,
    SagaPolicy,
    SagaState,
    Stock,
    StockCommitted,
    StockRejected,
    StockReleased,
    StockReserved,
    Timeout,
    VoidPayment,
)
from mercato.platform.types import Money
from tests.unit.orders.saga_world import IID, ORDER, RID

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
DUE = T0 + timedelta(seconds=30)
POLICY = SagaPolicy(step_timeout=timedelta(seconds=30), max_retries=2)

BASE = SagaState(order_id=ORDER, lines=(("SKU-1", 2),), amount=Money(5000, "EUR"), payment_method="tok_ok")


def state(
    status: S, stock: Stock, payment: Payment, reason: RejectReason | None = None, **kw: object
) -> SagaState:
    awaiting = stock.value.endswith("ING") or payment.value.endswith("ING") or "REQUESTED" in (stock, payment)
    return replace(
        BASE,
        status=status,
        stock=stock,
        payment=payment,
        reason=reason,
        reservation_id=RID if stock not in (Stock.NONE, Stock.REQUESTED, Stock.REFUSED) else None,
        intent_id=IID
        if payment not in (Payment.NONE, Payment.CHARGING, Payment.REQUESTED, Payment.DECLINED)
        else None,
        deadline=DUE if awaiting and not status.is_terminal else None,
        **kw,  # type: ignore[arg-type]
    )


STATES = {
    "pending": state(S.PENDING, Stock.REQUESTED, Payment.NONE),
    "reserved": state(S.STOCK_RESERVED, Stock.HELD, Payment.CHARGING),
    # Sagas that sent the separate authorization before authorize-and-capture was one command, and
    # any saga whose authorization was reported alone (then captured by the separate command).
    "reserved_before": state(S.STOCK_RESERVED, Stock.HELD, Payment.REQUESTED),
    "authorized": state(S.PAYMENT_AUTHORIZED, Stock.HELD, Payment.CAPTURING),
    "captured": state(S.PAYMENT_CAPTURED, Stock.COMMITTING, Payment.CAPTURED),
    "confirmed": state(S.CONFIRMED, Stock.COMMITTED, Payment.CAPTURED),
    "declined": state(S.COMPENSATING, Stock.RELEASING, Payment.DECLINED, RejectReason.PAYMENT_DECLINED),
    "expired": state(S.COMPENSATING, Stock.RELEASED, Payment.VOIDING, RejectReason.TIMEOUT),
    "out_of_stock": state(S.REJECTED, Stock.REFUSED, Payment.NONE, RejectReason.OUT_OF_STOCK),
    "timed_out": state(S.REJECTED, Stock.RELEASED, Payment.REQUESTED, RejectReason.TIMEOUT),
}

MESSAGES: dict[str, SagaMessage] = {
    "reserved": StockReserved(RID),
    "rejected": StockRejected(("SKU-1",)),
    "committed": StockCommitted(RID),
    "released": StockReleased(RID, expired=True),
    "authorized": PaymentAuthorized(IID),
    "declined": PaymentDeclined("INSUFFICIENT_FUNDS"),
    "capture_failed": PaymentCaptureFailed("PROVIDER_REJECTED", IID),
    "captured": PaymentCaptured(IID),
    "voided": PaymentVoided(IID),
    "refunded": PaymentRefunded(IID),
    "timeout": Timeout(),
}

SAME = None  # "unchanged": the message is a duplicate or stale, the state stays exactly as it was
# state -> message -> (status, stock, payment, commands sent) or _ for "nothing changes".
TABLE: dict[str, dict[str, tuple[S, Stock, Payment, tuple[type, ...]] | None]] = {
    "pending": {
        "reserved": (S.STOCK_RESERVED, Stock.HELD, Payment.CHARGING, (AuthorizeAndCapturePayment,)),
        "rejected": (S.REJECTED, Stock.REFUSED, Payment.NONE, ()),
        "committed": (S.STOCK_RESERVED, Stock.COMMITTED, Payment.CHARGING, (AuthorizeAndCapturePayment,)),
        "released": (S.REJECTED, Stock.RELEASED, Payment.NONE, ()),
        "authorized": (S.PENDING, Stock.REQUESTED, Payment.AUTHORIZED, ()),
        "declined": (S.REJECTED, Stock.REQUESTED, Payment.DECLINED, ()),
        "capture_failed": SAME,
        "captured": (S.PENDING, Stock.REQUESTED, Payment.CAPTURED, ()),
        "voided": (S.REJECTED, Stock.REQUESTED, Payment.VOIDED, ()),
        "refunded": (S.REJECTED, Stock.REQUESTED, Payment.REFUNDED, ()),
        "timeout": (S.PENDING, Stock.REQUESTED, Payment.NONE, (ReserveStock,)),
    },
    "reserved": {
        "reserved": SAME,
        "rejected": SAME,
        "committed": (S.STOCK_RESERVED, Stock.COMMITTED, Payment.CHARGING, ()),
        # Nothing to void yet: a late reply of the payment is undone when it comes.
        "released": (S.REJECTED, Stock.RELEASED, Payment.CHARGING, ()),
        # Reported alone (payments' sweeper finished the authorization): captured separately.
        "authorized": (S.PAYMENT_AUTHORIZED, Stock.HELD, Payment.CAPTURING, (CapturePayment,)),
        "declined": (S.COMPENSATING, Stock.RELEASING, Payment.DECLINED, (ReleaseStock,)),
        # The authorization went through, its capture did not: void it (the reply names the intent).
        "capture_failed": (S.COMPENSATING, Stock.RELEASING, Payment.VOIDING, (VoidPayment, ReleaseStock)),
        # The one reply of the step: straight on to the pivot.
        "captured": (S.PAYMENT_CAPTURED, Stock.COMMITTING, Payment.CAPTURED, (CommitStock,)),
        "voided": (S.COMPENSATING, Stock.RELEASING, Payment.VOIDED, (ReleaseStock,)),
        "refunded": (S.COMPENSATING, Stock.RELEASING, Payment.REFUNDED, (ReleaseStock,)),
        "timeout": (S.STOCK_RESERVED, Stock.HELD, Payment.CHARGING, (AuthorizeAndCapturePayment,)),
    },
    "reserved_before": {
        "reserved": SAME,
        "rejected": SAME,
        "committed": (S.STOCK_RESERVED, Stock.COMMITTED, Payment.REQUESTED, ()),
        "released": (S.REJECTED, Stock.RELEASED, Payment.REQUESTED, ()),
        "authorized": (S.PAYMENT_AUTHORIZED, Stock.HELD, Payment.CAPTURING, (CapturePayment,)),
        "declined": (S.COMPENSATING, Stock.RELEASING, Payment.DECLINED, (ReleaseStock,)),
        "capture_failed": SAME,
        "captured": (S.PAYMENT_CAPTURED, Stock.COMMITTING, Payment.CAPTURED, (CommitStock,)),
        "voided": (S.COMPENSATING, Stock.RELEASING, Payment.VOIDED, (ReleaseStock,)),
        "refunded": (S.COMPENSATING, Stock.RELEASING, Payment.REFUNDED, (ReleaseStock,)),
        # The command it sent is the one re-sent (payments still takes it).
        "timeout": (S.STOCK_RESERVED, Stock.HELD, Payment.REQUESTED, (AuthorizePayment,)),
    },
    "authorized": {
        "reserved": SAME,
        "rejected": SAME,
        "committed": (S.PAYMENT_AUTHORIZED, Stock.COMMITTED, Payment.CAPTURING, ()),
        "released": (S.COMPENSATING, Stock.RELEASED, Payment.VOIDING, (VoidPayment,)),
        "authorized": SAME,
        "declined": SAME,
        "capture_failed": (S.COMPENSATING, Stock.RELEASING, Payment.VOIDING, (VoidPayment, ReleaseStock)),
        "captured": (S.PAYMENT_CAPTURED, Stock.COMMITTING, Payment.CAPTURED, (CommitStock,)),
        "voided": (S.COMPENSATING, Stock.RELEASING, Payment.VOIDED, (ReleaseStock,)),
        "refunded": (S.COMPENSATING, Stock.RELEASING, Payment.REFUNDED, (ReleaseStock,)),
        "timeout": (S.PAYMENT_AUTHORIZED, Stock.HELD, Payment.CAPTURING, (CapturePayment,)),
    },
    "captured": {
        "reserved": SAME,
        "rejected": SAME,
        "committed": (S.CONFIRMED, Stock.COMMITTED, Payment.CAPTURED, ()),
        "released": (S.COMPENSATING, Stock.RELEASED, Payment.REFUNDING, (RefundPayment,)),
        "authorized": SAME,
        "declined": SAME,
        "capture_failed": SAME,
        "captured": SAME,
        "voided": SAME,
        "refunded": (S.COMPENSATING, Stock.RELEASING, Payment.REFUNDED, (ReleaseStock,)),
        "timeout": (S.PAYMENT_CAPTURED, Stock.COMMITTING, Payment.CAPTURED, (CommitStock,)),
    },
    "confirmed": {
        **dict.fromkeys(MESSAGES, SAME),
        # A refund after the purchase (staff) is recorded; the order stays confirmed.
        "refunded": (S.CONFIRMED, Stock.COMMITTED, Payment.REFUNDED, ()),
    },
    "declined": {
        "reserved": SAME,
        "rejected": SAME,
        "committed": (S.REJECTED, Stock.COMMITTED, Payment.DECLINED, ()),
        "released": (S.REJECTED, Stock.RELEASED, Payment.DECLINED, ()),
        "authorized": (S.COMPENSATING, Stock.RELEASING, Payment.VOIDING, (VoidPayment,)),
        "declined": SAME,
        "capture_failed": SAME,
        "captured": (S.COMPENSATING, Stock.RELEASING, Payment.REFUNDING, (RefundPayment,)),
        "voided": (S.COMPENSATING, Stock.RELEASING, Payment.VOIDED, ()),
        "refunded": (S.COMPENSATING, Stock.RELEASING, Payment.REFUNDED, ()),
        "timeout": (S.COMPENSATING, Stock.RELEASING, Payment.DECLINED, (ReleaseStock,)),
    },
    "expired": {
        "reserved": SAME,
        "rejected": SAME,
        "committed": SAME,
        "released": SAME,
        "authorized": SAME,
        "declined": SAME,
        "capture_failed": SAME,
        # The capture beat the void: refund it.
        "captured": (S.COMPENSATING, Stock.RELEASED, Payment.REFUNDING, (RefundPayment,)),
        "voided": (S.REJECTED, Stock.RELEASED, Payment.VOIDED, ()),
        "refunded": (S.REJECTED, Stock.RELEASED, Payment.REFUNDED, ()),
        "timeout": (S.COMPENSATING, Stock.RELEASED, Payment.VOIDING, (VoidPayment,)),
    },
    "out_of_stock": {
        # A reservation made by a re-sent command after the refusal: released.
        "reserved": (S.REJECTED, Stock.RELEASING, Payment.NONE, (ReleaseStock,)),
        "rejected": SAME,
        "committed": (S.REJECTED, Stock.COMMITTED, Payment.NONE, ()),
        "released": (S.REJECTED, Stock.RELEASED, Payment.NONE, ()),
        "authorized": (S.REJECTED, Stock.REFUSED, Payment.VOIDING, (VoidPayment,)),
        "declined": (S.REJECTED, Stock.REFUSED, Payment.DECLINED, ()),
        "capture_failed": SAME,
        "captured": (S.REJECTED, Stock.REFUSED, Payment.REFUNDING, (RefundPayment,)),
        "voided": (S.REJECTED, Stock.REFUSED, Payment.VOIDED, ()),
        "refunded": (S.REJECTED, Stock.REFUSED, Payment.REFUNDED, ()),
        "timeout": SAME,
    },
    "timed_out": {
        "reserved": SAME,
        "rejected": SAME,
        "committed": SAME,
        "released": SAME,
        # The authorization the saga gave up on arrives after all: voided, never captured.
        "authorized": (S.REJECTED, Stock.RELEASED, Payment.VOIDING, (VoidPayment,)),
        "declined": (S.REJECTED, Stock.RELEASED, Payment.DECLINED, ()),
        "capture_failed": SAME,
        "captured": (S.REJECTED, Stock.RELEASED, Payment.REFUNDING, (RefundPayment,)),
        "voided": (S.REJECTED, Stock.RELEASED, Payment.VOIDED, ()),
        "refunded": (S.REJECTED, Stock.RELEASED, Payment.REFUNDED, ()),
        "timeout": SAME,
    },
}

PAIRS = [(s, m) for s in STATES for m in MESSAGES]


def test_the_table_covers_every_state_and_message() -> None:
    assert sorted(TABLE) == sorted(STATES)
    for row in TABLE.values():
        assert sorted(row) == sorted(MESSAGES)


@pytest.mark.parametrize(("state_name", "message_name"), PAIRS)
def test_decide(state_name: str, message_name: str) -> None:
    before = STATES[state_name]
    after, commands = decide(before, MESSAGES[message_name], DUE, POLICY)
    expected = TABLE[state_name][message_name]
    if expected is None:
        assert (after, commands) == (before, [])
        return
    status, stock, payment, sent = expected
    assert (after.status, after.stock, after.payment) == (status, stock, payment)
    assert tuple(type(c) for c in commands) == sent
    # Something is awaited exactly when a deadline is set.
    awaited = after.stock in (Stock.REQUESTED, Stock.COMMITTING, Stock.RELEASING) or after.payment in (
        Payment.CHARGING,
        Payment.REQUESTED,
        Payment.CAPTURING,
        Payment.VOIDING,
        Payment.REFUNDING,
    )
    if after.status in (S.REJECTED, S.COMPENSATING):
        awaited = after.stock is Stock.RELEASING or after.payment in (Payment.VOIDING, Payment.REFUNDING)
    assert (after.deadline is not None) == awaited
    if after.status in (S.REJECTED, S.COMPENSATING):
        assert after.reason is not None
