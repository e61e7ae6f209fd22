"""The checkout saga's table: its steps, the command of each and its compensation (`STEPS`), and
how each kind of reply moves the resource it is about (`FACTS`). `saga.decide` drives them.

Steps, each with its compensation: reserve stock <-> release; authorize and capture the payment
(one command, `AuthorizeAndCapturePayment`) <-> void what is only authorized, refund what is
captured; then commit the stock, the pivot. The commit comes last because it is the one step
nothing can undo (the inventory has no "un-commit"): every failure before it can be compensated,
and after it the saga only goes forward, re-sending the commit until it is acknowledged. The
reservation's expiry bounds that wait: an expired reservation is a fact that compensates (refund).
Had capture and commit run side by side, a capture refused after the commit landed would leave
stock gone and no money.

The payment step was two (authorize, then capture) before it became one. The table keeps the
separate capture step, which a saga reaches when an authorization is reported alone (a saga that
sent the separate command before the upgrade, or payments' sweeper finishing an authorization it
found pending), and `AuthorizePayment` is still re-sent to a saga that sent it and is waiting.
Authorizing and capturing at once means an authorization that comes back late, after the saga
gave up, is captured too: the saga refunds it then (where it used to void it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from mercato.orders.domain.model import OrderStatus, RejectReason
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
    RestockStock,
    SagaCommand,
    SagaMessage,
    SagaPolicy,
    SagaState,
    Stock,
    StockCommitted,
    StockRejected,
    StockReleased,
    StockReserved,
    StockRestocked,
    VoidPayment,
    payment_key,
)
from mercato.platform.types import Money


@dataclass(frozen=True)
class Action:
    """One command on one resource: sent while the resource is in `sends_from`, which moves it to
    `in_flight` until a reply arrives; `done` are the states that mean the action succeeded."""

    name: str
    on_stock: bool  # True: acts on the reservation, False: on the payment intent
    sends_from: frozenset[str]
    in_flight: str
    done: frozenset[str]
    build: Callable[[SagaState, SagaPolicy], SagaCommand]

    def state_of(self, s: SagaState) -> str:
        return s.stock.value if self.on_stock else s.payment.value

    def mark(self, s: SagaState) -> SagaState:
        return (
            replace(s, stock=Stock(self.in_flight))
            if self.on_stock
            else replace(s, payment=Payment(self.in_flight))
        )


def _rid(s: SagaState) -> str:
    assert s.reservation_id is not None, "a held reservation always has its id"
    return s.reservation_id


def _iid(s: SagaState) -> str:
    assert s.intent_id is not None, "an authorized payment always has its intent id"
    return s.intent_id


def _reason(s: SagaState) -> str:
    if s.cancelled:
        return "order CANCELLED"
    return f"order {s.reason.value if s.reason else 'REJECTED'}"


RESERVE = Action(
    name="reserve_stock",
    on_stock=True,
    sends_from=frozenset({Stock.NONE}),
    in_flight=Stock.REQUESTED,
    done=frozenset({Stock.HELD, Stock.COMMITTING, Stock.COMMITTED}),
    build=lambda s, p: ReserveStock(s.order_id, s.lines, p.reservation_ttl_seconds),
)
_AUTHORIZED = frozenset({Payment.AUTHORIZED, Payment.CAPTURING, Payment.CAPTURED})
CHARGE = Action(
    name="authorize_and_capture_payment",
    on_stock=False,
    sends_from=frozenset({Payment.NONE}),
    in_flight=Payment.CHARGING,
    # Authorized is enough to leave the step: a capture refused after the authorization is a
    # failure (it compensates), an authorization reported alone goes on with the separate capture.
    done=_AUTHORIZED,
    build=lambda s, p: AuthorizeAndCapturePayment(
        s.order_id,
        s.amount,
        s.payment_method,
        payment_key(s.order_id, "authorize"),
        payment_key(s.order_id, "capture"),
    ),
)
# Never sent any more (CHARGE is, from the same state); re-sent on a timeout to a saga that sent it
# before authorize-and-capture was one command.
AUTHORIZE = Action(
    name="authorize_payment",
    on_stock=False,
    sends_from=frozenset(),
    in_flight=Payment.REQUESTED,
    done=_AUTHORIZED,
    build=lambda s, p: AuthorizePayment(
        s.order_id, s.amount, s.payment_method, payment_key(s.order_id, "authorize")
    ),
)
COMMIT = Action(
    name="commit_stock",
    on_stock=True,
    sends_from=frozenset({Stock.HELD}),
    in_flight=Stock.COMMITTING,
    done=frozenset({Stock.COMMITTED}),
    build=lambda s, p: CommitStock(s.order_id, _rid(s)),
)
CAPTURE = Action(
    name="capture_payment",
    on_stock=False,
    sends_from=frozenset({Payment.AUTHORIZED}),
    in_flight=Payment.CAPTURING,
    done=frozenset({Payment.CAPTURED}),
    build=lambda s, p: CapturePayment(s.order_id, _iid(s), payment_key(s.order_id, "capture")),
)
# Compensations. A void racing a capture is safe: payments applies the one that comes first and
# refuses the other; if the capture won, its reply makes the payment CAPTURED and the saga refunds
# it. Same for a release racing a commit (only reachable if someone else voids or refunds).
RELEASE = Action(
    name="release_stock",
    on_stock=True,
    sends_from=frozenset({Stock.HELD, Stock.COMMITTING}),
    in_flight=Stock.RELEASING,
    done=frozenset({Stock.RELEASED}),
    build=lambda s, p: ReleaseStock(s.order_id, _rid(s), _reason(s)),
)
VOID = Action(
    name="void_payment",
    on_stock=False,
    sends_from=frozenset({Payment.AUTHORIZED, Payment.CAPTURING}),
    in_flight=Payment.VOIDING,
    done=frozenset({Payment.VOIDED}),
    build=lambda s, p: VoidPayment(s.order_id, _iid(s), payment_key(s.order_id, "void")),
)
# What staff refunded already is not refunded again (a cancelled, partly refunded order). The
# amount cannot change between re-sends: no staff refund is accepted once the order is cancelled.
REFUND = Action(
    name="refund_payment",
    on_stock=False,
    sends_from=frozenset({Payment.CAPTURED}),
    in_flight=Payment.REFUNDING,
    done=frozenset({Payment.REFUNDED}),
    build=lambda s, p: RefundPayment(
        s.order_id,
        _iid(s),
        Money(s.amount.amount - s.refunded, s.amount.currency),
        payment_key(s.order_id, "refund"),
        _reason(s),
    ),
)
# Only a cancellation undoes the pivot: the committed units go back on the shelves.
RESTOCK = Action(
    name="restock_stock",
    on_stock=True,
    sends_from=frozenset({Stock.COMMITTED}),
    in_flight=Stock.RESTOCKING,
    done=frozenset({Stock.RESTOCKED}),
    build=lambda s, p: RestockStock(s.order_id, _rid(s), _reason(s)),
)


@dataclass(frozen=True)
class Step:
    """A forward step: the status the saga waits in while its actions are out, and their undo."""

    waits_in: OrderStatus
    actions: tuple[Action, ...]
    compensations: tuple[Action, ...]
    bounded: bool  # False for the pivot: retried until acknowledged, never abandoned


STEPS: tuple[Step, ...] = (
    Step(OrderStatus.PENDING, (RESERVE,), (RELEASE,), bounded=True),
    # Authorize and capture: a saga waits here for `payment_captured` and goes on to the commit.
    Step(OrderStatus.STOCK_RESERVED, (CHARGE, AUTHORIZE), (VOID,), bounded=True),
    # Only after an authorization reported alone (see the module's docstring).
    Step(OrderStatus.PAYMENT_AUTHORIZED, (CAPTURE,), (REFUND,), bounded=True),
    Step(OrderStatus.PAYMENT_CAPTURED, (COMMIT,), (), bounded=False),
)
# Undo in reverse order of the steps. The undos touch different participants and do not depend on
# each other, so they all go out at once rather than one after the other.
COMPENSATIONS: tuple[Action, ...] = tuple(a for step in reversed(STEPS) for a in step.compensations)
CANCEL_COMPENSATIONS: tuple[Action, ...] = (RESTOCK, *COMPENSATIONS)
STEP_BY_STATUS = {step.waits_in: step for step in STEPS}


@dataclass(frozen=True)
class Fact:
    """How one kind of reply moves a resource: only from `moves_from`, so that duplicates and stale
    replies (an authorization arriving after the void) change nothing."""

    on_stock: bool
    moves_from: frozenset[str]
    to: str
    failure: RejectReason | None  # what it means for an order still going forward


_ALL_STOCK = frozenset(Stock)
_ALL_PAYMENT = frozenset(Payment)
_PAYMENT_ENDED = frozenset({Payment.CAPTURED, Payment.VOIDED, Payment.REFUNDING, Payment.REFUNDED})
_STOCK_SOLD = frozenset({Stock.COMMITTED, Stock.RELEASED, Stock.RESTOCKING, Stock.RESTOCKED})
_UNAUTHORIZED = frozenset({Payment.NONE, Payment.REQUESTED, Payment.CHARGING})
FACTS: dict[type[SagaMessage], Fact] = {
    StockReserved: Fact(True, frozenset({Stock.NONE, Stock.REQUESTED, Stock.REFUSED}), Stock.HELD, None),
    StockRejected: Fact(True, frozenset({Stock.REQUESTED}), Stock.REFUSED, RejectReason.OUT_OF_STOCK),
    StockCommitted: Fact(True, _ALL_STOCK - _STOCK_SOLD, Stock.COMMITTED, None),
    # Released before the order was paid: it expired (or staff released it); the order cannot go on.
    StockReleased: Fact(True, _ALL_STOCK - _STOCK_SOLD, Stock.RELEASED, RejectReason.TIMEOUT),
    StockRestocked: Fact(True, frozenset({Stock.COMMITTED, Stock.RESTOCKING}), Stock.RESTOCKED, None),
    PaymentAuthorized: Fact(False, _UNAUTHORIZED | {Payment.DECLINED}, Payment.AUTHORIZED, None),
    # The failure of a decline depends on its code (see `_decline_reason`).
    PaymentDeclined: Fact(False, _UNAUTHORIZED, Payment.DECLINED, RejectReason.PAYMENT_DECLINED),
    PaymentCaptured: Fact(False, _ALL_PAYMENT - _PAYMENT_ENDED, Payment.CAPTURED, None),
    # Still authorized only (the reply names the intent): the void among the compensations releases it.
    PaymentCaptureFailed: Fact(
        False,
        frozenset({Payment.CAPTURING, Payment.CHARGING}),
        Payment.AUTHORIZED,
        RejectReason.PAYMENT_ERROR,
    ),
    # Nobody but this saga voids or refunds before confirmation; if someone did, it is an error.
    PaymentVoided: Fact(False, _ALL_PAYMENT - _PAYMENT_ENDED, Payment.VOIDED, RejectReason.PAYMENT_ERROR),
    PaymentRefunded: Fact(
        False, _ALL_PAYMENT - {Payment.REFUNDED}, Payment.REFUNDED, RejectReason.PAYMENT_ERROR
    ),
}
