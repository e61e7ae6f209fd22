"""The checkout saga's orchestrator: a pure function from (state, message, now) to (state, commands).

No I/O, no clock, no random ids: the caller loads the state, feeds one message and stores the
result together with the commands (one transaction), so a crash anywhere replays cleanly.

The steps, their compensations and how each reply moves a resource are a table
(`saga_steps`): reserve stock, authorize and capture the payment (one command), commit the stock.

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
from dataclasses import replace
from datetime import datetime

from mercato.orders.domain.model import OrderStatus, RejectReason
from mercato.orders.domain.saga_steps import (
    CANCEL_COMPENSATIONS,
    COMPENSATIONS,
    FACTS,
    STEP_BY_STATUS,
    STEPS,
    Action,
)
from mercato.orders.domain.saga_types import (
    Payment,
    PaymentDeclined,
    PaymentRefunded,
    SagaCommand,
    SagaMessage,
    SagaPolicy,
    SagaState,
    Stock,
    Timeout,
    staff_refunds,
)
from mercato.platform.types import Money

DEFAULT_POLICY = SagaPolicy()
_HELD = frozenset({Payment.AUTHORIZED, Payment.CAPTURED})  # states whose undo needs the intent id


def begin(
    order_id: uuid.UUID,
    lines: tuple[tuple[str, int], ...],
    amount: Money,
    payment_method: str,
    now: datetime,
    policy: SagaPolicy = DEFAULT_POLICY,
) -> tuple[SagaState, list[SagaCommand]]:
    """The saga of a new order and its first command (reserve the stock)."""
    state = SagaState(order_id=order_id, lines=lines, amount=amount, payment_method=payment_method)
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
    learned = replace(learned, parked=None)  # an answer at last: the saga goes on by itself
    if failure is not None and learned.status in STEP_BY_STATUS:  # still going forward
        learned = replace(learned, status=OrderStatus.COMPENSATING, reason=failure)
    return _drive(state, learned, now, policy)


def drive(
    before: SagaState, changed: SagaState, now: datetime, policy: SagaPolicy = DEFAULT_POLICY
) -> tuple[SagaState, list[SagaCommand]]:
    """`changed` (a request applied to `before`, see `after_purchase`) carried on: its status
    settled, the commands it implies, its deadline."""
    return _drive(before, changed, now, policy)


def resume(s: SagaState, now: datetime) -> SagaState:
    """A parked saga re-armed by a person: its next timeout (due now) re-sends what it awaits, with
    a fresh count of re-sends. Anything else is returned unchanged."""
    if s.parked is None:
        return s
    return replace(s, parked=None, attempts=0, deadline=now)


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
        if iid is None and fact.to in _HELD:
            # Money held somewhere the saga could not name to give it back: wait for a reply that
            # names it (the re-sent command's), rather than hold what cannot be undone.
            return s, None
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
    if s.status in STEP_BY_STATUS:
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
    step = STEP_BY_STATUS.get(s.status)
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
        return replace(s, deadline=now + policy.step_timeout, attempts=0, parked=None)
    if s.deadline is None and s.parked is None:  # a parked saga woken by an answer: wait again
        return replace(s, deadline=now + policy.step_timeout, attempts=0)
    return s


def _on_timeout(s: SagaState, now: datetime, policy: SagaPolicy) -> tuple[SagaState, list[SagaCommand]]:
    if s.deadline is None or now < s.deadline:
        return s, []  # another sweeper or a reply got there first
    awaited = _awaited(s)
    if not _waiting(s):
        return replace(s, deadline=None, attempts=0), []
    step = STEP_BY_STATUS.get(s.status)
    if awaited and step is not None and step.bounded and s.attempts >= policy.max_retries:
        failed = replace(s, status=OrderStatus.COMPENSATING, reason=RejectReason.TIMEOUT)
        return _drive(s, failed, now, policy)
    if step is None and s.attempts >= policy.park_after:
        # Undoing or refunding that nobody confirms after all these re-sends: stop and wait for a
        # person (`resume`) rather than re-send forever. A late answer still moves the saga on.
        return replace(s, deadline=None, parked=_park_reason(s, awaited)), []
    if not awaited:  # staff refunds unconfirmed: re-send them all, payments answers by key
        return replace(s, deadline=now + policy.step_timeout, attempts=s.attempts + 1), [*staff_refunds(s)]
    # Re-send what is still out, unchanged: every participant treats a repeat as a no-op.
    commands = [a.build(s, policy) for a in awaited]
    return replace(s, deadline=now + policy.step_timeout, attempts=s.attempts + 1), commands


def _park_reason(s: SagaState, awaited: tuple[Action, ...]) -> str:
    what = ", ".join(a.name for a in awaited) or f"refund of {s.refund_requested - s.refunded} minor units"
    return f"{what} unconfirmed after {s.attempts} re-sends"
