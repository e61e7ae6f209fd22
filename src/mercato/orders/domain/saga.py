"""The checkout saga's orchestrator: a pure function from (state, message, now) to (state, commands).

No I/O, no clock, no random ids: the caller loads the state, feeds one message and stores the
result together with the commands (one transaction), so a crash anywhere replays cleanly.

Steps (`STEPS`), each with its compensation: reserve stock <-> release; authorize <-> void;
capture <-> refund; then commit the stock, the pivot. The commit comes last because it is the one
step nothing can undo (the inventory has no "un-commit"): every failure before it can be
compensated, and after it the saga only goes forward, re-sending the commit until it is
acknowledged. The reservation's expiry bounds that wait: an expired reservation is a fact that
compensates (refund). Had capture and commit run side by side, a capture refused after the
commit landed would leave stock gone and no money.

How it stays correct whatever the order or number of replies:
  * `_learn` folds a participant's fact into what the saga knows of its two resources (the
    reservation and the payment intent). Facts only move a resource forward in its lifecycle
    (`FACTS`), so a duplicate or stale reply changes nothing, and a late one is recorded wherever
    the saga stands.
  * `_drive` then looks at the resources, not at the message: going forward it sends the next
    step's commands; once failed it sends the undo of whatever is still held. A late authorization
    after a timeout is therefore voided, a late reservation released, because they are "held".
  * Commands go out on state transitions only (NONE -> REQUESTED, HELD -> RELEASING...), so
    re-driving an unchanged state sends nothing; re-sends happen on `Timeout` only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from mercato.orders.domain.model import OrderStatus, RejectReason
from mercato.orders.domain.saga_types import (
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
    Timeout,
    VoidPayment,
    payment_key,
    staff_refunds,
)
from mercato.platform.types import Money

DEFAULT_POLICY = SagaPolicy()


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
AUTHORIZE = Action(
    name="authorize_payment",
    on_stock=False,
    sends_from=frozenset({Payment.NONE}),
    in_flight=Payment.REQUESTED,
    done=frozenset({Payment.AUTHORIZED, Payment.CAPTURING, Payment.CAPTURED}),
    build=lambda s, p: AuthorizePayment(
        s.order_id, s.amount, s.payment_token, payment_key(s.order_id, "authorize")
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
    Step(OrderStatus.STOCK_RESERVED, (AUTHORIZE,), (VOID,), bounded=True),
    Step(OrderStatus.PAYMENT_AUTHORIZED, (CAPTURE,), (REFUND,), bounded=True),
    Step(OrderStatus.PAYMENT_CAPTURED, (COMMIT,), (), bounded=False),
)
# Undo in reverse order of the steps. The undos touch different participants and do not depend on
# each other, so they all go out at once rather than one after the other.
COMPENSATIONS: tuple[Action, ...] = tuple(a for step in reversed(STEPS) for a in step.compensations)
CANCEL_COMPENSATIONS: tuple[Action, ...] = (RESTOCK, *COMPENSATIONS)
_STEP_BY_STATUS = {step.waits_in: step for step in STEPS}


def begin(
    order_id: uuid.UUID,
    lines: tuple[tuple[str, int], ...],
    amount: Money,
    payment_token: str,
    now: datetime,
    policy: SagaPolicy = DEFAULT_POLICY,
) -> tuple[SagaState, list[SagaCommand]]:
    """The saga of a new order and its first command (reserve the stock)."""
    state = SagaState(order_id=order_id, lines=lines, amount=amount, payment_token=payment_token)
    return _drive(state, state, now, policy)


def decide(
    state: SagaState, message: SagaMessage, now: datetime, policy: SagaPolicy = DEFAULT_POLICY
) -> tuple[SagaState, list[SagaCommand]]:
    """The saga's next state and the commands to send, for one message at time `now`."""
    if isinstance(message, Timeout):
        return _on_timeout(state, now, policy)
    learned, failure = _learn(state, message)
    if learned == state:
        return state, []  # a duplicate or a stale reply: nothing new is known
    if failure is not None and learned.status in _STEP_BY_STATUS:  # still going forward
        learned = replace(learned, status=OrderStatus.COMPENSATING, reason=failure)
    return _drive(state, learned, now, policy)


def drive(
    before: SagaState, changed: SagaState, now: datetime, policy: SagaPolicy = DEFAULT_POLICY
) -> tuple[SagaState, list[SagaCommand]]:
    """`changed` (a request applied to `before`, see `after_purchase`) carried on: its status
    settled, the commands it implies, its deadline."""
    return _drive(before, changed, now, policy)


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
FACTS: dict[type[SagaMessage], Fact] = {
    StockReserved: Fact(True, frozenset({Stock.NONE, Stock.REQUESTED, Stock.REFUSED}), Stock.HELD, None),
    StockRejected: Fact(True, frozenset({Stock.REQUESTED}), Stock.REFUSED, RejectReason.OUT_OF_STOCK),
    StockCommitted: Fact(True, _ALL_STOCK - _STOCK_SOLD, Stock.COMMITTED, None),
    # Released before the order was paid: it expired (or staff released it); the order cannot go on.
    StockReleased: Fact(True, _ALL_STOCK - _STOCK_SOLD, Stock.RELEASED, RejectReason.TIMEOUT),
    StockRestocked: Fact(True, frozenset({Stock.COMMITTED, Stock.RESTOCKING}), Stock.RESTOCKED, None),
    PaymentAuthorized: Fact(
        False, frozenset({Payment.NONE, Payment.REQUESTED, Payment.DECLINED}), Payment.AUTHORIZED, None
    ),
    # The failure of a decline depends on its code (see `_decline_reason`).
    PaymentDeclined: Fact(
        False, frozenset({Payment.NONE, Payment.REQUESTED}), Payment.DECLINED, RejectReason.PAYMENT_DECLINED
    ),
    PaymentCaptured: Fact(False, _ALL_PAYMENT - _PAYMENT_ENDED, Payment.CAPTURED, None),
    # Still authorized only: the void among the compensations releases it.
    PaymentCaptureFailed: Fact(
        False, frozenset({Payment.CAPTURING}), Payment.AUTHORIZED, RejectReason.PAYMENT_ERROR
    ),
    # Nobody but this saga voids or refunds before confirmation; if someone did, it is an error.
    PaymentVoided: Fact(False, _ALL_PAYMENT - _PAYMENT_ENDED, Payment.VOIDED, RejectReason.PAYMENT_ERROR),
    PaymentRefunded: Fact(
        False, _ALL_PAYMENT - {Payment.REFUNDED}, Payment.REFUNDED, RejectReason.PAYMENT_ERROR
    ),
}


def _learn(s: SagaState, m: SagaMessage) -> tuple[SagaState, RejectReason | None]:
    """Fold one fact into the state; a failure reason when the fact means the order cannot go on."""
    if isinstance(m, PaymentRefunded) and m.refunded_total is not None:
        return _learn_refund(s, m, m.refunded_total)
    fact = FACTS[type(m)]
    if fact.on_stock:
        if s.stock not in fact.moves_from:
            return s, None
        rid = getattr(m, "reservation_id", None) or s.reservation_id
        learned = replace(s, stock=Stock(fact.to), reservation_id=rid)
    else:
        if s.payment not in fact.moves_from:
            return s, None
        iid = getattr(m, "intent_id", None) or s.intent_id
        learned = replace(s, payment=Payment(fact.to), intent_id=iid)
    if isinstance(m, PaymentDeclined):
        return learned, _decline_reason(m)
    return learned, fact.failure


def _learn_refund(s: SagaState, m: PaymentRefunded, total: int) -> tuple[SagaState, RejectReason | None]:
    """Refunds may be partial (staff): the running total grows; the payment is REFUNDED once all
    of it is. A refund nobody here asked for stops an order still going forward."""
    if total <= s.refunded:
        return s, None  # a stale or duplicate report
    full = total >= s.amount.amount
    payment = Payment.REFUNDED if full else s.payment
    learned = replace(s, refunded=max(s.refunded, total), payment=payment, intent_id=m.intent_id)
    asked = s.payment is Payment.REFUNDING or total <= s.refund_requested
    return learned, None if asked else RejectReason.PAYMENT_ERROR


def _decline_reason(m: PaymentDeclined) -> RejectReason:
    if m.error:
        return RejectReason.PAYMENT_ERROR
    if m.code.upper() == RejectReason.INSUFFICIENT_FUNDS.value:
        return RejectReason.INSUFFICIENT_FUNDS
    return RejectReason.PAYMENT_DECLINED


def _send(
    s: SagaState, actions: tuple[Action, ...], policy: SagaPolicy
) -> tuple[SagaState, list[SagaCommand]]:
    """Send every action whose resource is in a state it starts from."""
    commands: list[SagaCommand] = []
    for action in actions:
        if action.state_of(s) in action.sends_from:
            s = action.mark(s)
            commands.append(action.build(s, policy))
    return s, commands


def _in_flight(s: SagaState, actions: tuple[Action, ...]) -> tuple[Action, ...]:
    return tuple(a for a in actions if a.state_of(s) == a.in_flight)


def _drive(
    before: SagaState, s: SagaState, now: datetime, policy: SagaPolicy
) -> tuple[SagaState, list[SagaCommand]]:
    commands: list[SagaCommand] = []
    if s.status in _STEP_BY_STATUS:
        for step in STEPS:
            if all(a.state_of(s) in a.done for a in step.actions):
                continue
            s, commands = _send(s, step.actions, policy)
            s = replace(s, status=step.waits_in)
            break
        else:
            s = replace(s, status=OrderStatus.CONFIRMED)
    elif s.status.is_after_purchase:
        s = replace(s, status=_after_purchase_status(s))  # nothing to undo: refunds move the status
    else:
        # COMPENSATING / CANCELLING, or ended with a late reply: undo whatever is held.
        undo = CANCEL_COMPENSATIONS if s.cancelled else COMPENSATIONS
        s, commands = _send(s, undo, policy)
        if not _in_flight(s, undo):
            ended = {
                OrderStatus.COMPENSATING: OrderStatus.REJECTED,
                OrderStatus.CANCELLING: OrderStatus.CANCELLED,
            }
            s = replace(s, status=ended.get(s.status, s.status))
    return _reschedule(before, s, commands, now, policy), commands


def _after_purchase_status(s: SagaState) -> OrderStatus:
    if s.refunded >= s.amount.amount:
        return OrderStatus.REFUNDED
    if s.refunded > 0:
        return OrderStatus.PARTIALLY_REFUNDED
    return OrderStatus.FULFILLED if s.tracking_number is not None else OrderStatus.CONFIRMED


def _awaited(s: SagaState) -> tuple[Action, ...]:
    """The actions whose reply the saga waits for now (a re-send target on timeout)."""
    step = _STEP_BY_STATUS.get(s.status)
    if step is not None:
        return _in_flight(s, step.actions)
    # Forward commands still out after a failure are abandoned: if they land late, the reply makes
    # the resource "held" and the saga undoes it then.
    return _in_flight(s, CANCEL_COMPENSATIONS if s.cancelled else COMPENSATIONS)


def _waiting(s: SagaState) -> bool:
    return bool(_awaited(s)) or (s.status.is_after_purchase and s.refunds_pending)


def _reschedule(
    before: SagaState, s: SagaState, commands: list[SagaCommand], now: datetime, policy: SagaPolicy
) -> SagaState:
    if not _waiting(s):
        return replace(s, deadline=None, attempts=0)
    if commands or s.status is not before.status:
        return replace(s, deadline=now + policy.step_timeout, attempts=0)
    return s


def _on_timeout(s: SagaState, now: datetime, policy: SagaPolicy) -> tuple[SagaState, list[SagaCommand]]:
    if s.deadline is None or now < s.deadline:
        return s, []  # another sweeper or a reply got there first
    awaited = _awaited(s)
    if not _waiting(s):
        return replace(s, deadline=None, attempts=0), []
    if not awaited:  # staff refunds unconfirmed: re-send them all, payments answers by key
        return replace(s, deadline=now + policy.step_timeout, attempts=s.attempts + 1), [*staff_refunds(s)]
    step = _STEP_BY_STATUS.get(s.status)
    if step is not None and step.bounded and s.attempts >= policy.max_retries:
        failed = replace(s, status=OrderStatus.COMPENSATING, reason=RejectReason.TIMEOUT)
        return _drive(s, failed, now, policy)
    # Re-send what is still out, unchanged: every participant treats a repeat as a no-op.
    commands = [a.build(s, policy) for a in awaited]
    return replace(s, deadline=now + policy.step_timeout, attempts=s.attempts + 1), commands
