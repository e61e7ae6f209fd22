"""The order aggregate (its saga state with `decide` and the after-purchase requests) as a hypothesis
state machine: replies reordered, duplicated and late, commands delivered twice, timeouts, reservation
expiry, and staff or customers cancelling, fulfilling and refunding at any moment, checked after every
step against a simple model:

- the status only moves forward (ranks below), REJECTED and CANCELLED never change again;
- whether a request is accepted is what the model predicts from the requests it saw;
- participants never reserve, authorize or capture twice, never refund more than captured;
- once everything in flight is delivered: the order is settled, its money and stock are what the
  model says (paid orders keep captured - refunds asked; cancelled and rejected ones keep nothing).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from mercato.orders.domain import after_purchase
from mercato.orders.domain.commands import CancelOrder, FulfillOrder, RefundOrder
from mercato.orders.domain.model import OrderStatus
from mercato.orders.domain.rules import (
    AlreadyFulfilled,
    InvalidOrderState,
    RefundExceedsCaptured,
    RefundKeyReused,
)
from mercato.orders.domain.saga import begin, decide
from mercato.orders.domain.saga_types import SagaCommand, SagaMessage, SagaState, Timeout
from mercato.platform.types import Money
from tests.unit.orders.saga_world import AMOUNT, ORDER, World
from tests.unit.orders.test_saga_table import POLICY, T0

S = OrderStatus
# Forward progress of the checkout; the order never goes back to a lower rank.
RANK = {
    S.PENDING: 0,
    S.STOCK_RESERVED: 1,
    S.PAYMENT_AUTHORIZED: 2,
    S.PAYMENT_CAPTURED: 3,
    S.COMPENSATING: 4,
    S.REJECTED: 5,
    S.CONFIRMED: 4,
    S.FULFILLED: 5,
    S.PARTIALLY_REFUNDED: 5,
    S.REFUNDED: 5,
    S.CANCELLING: 6,
    S.CANCELLED: 7,
}
# Where each status may go next (besides staying).
NEXT = {
    S.COMPENSATING: {S.REJECTED},
    S.REJECTED: set(),
    S.CONFIRMED: {S.FULFILLED, S.PARTIALLY_REFUNDED, S.REFUNDED, S.CANCELLING, S.CANCELLED},
    S.FULFILLED: {S.PARTIALLY_REFUNDED, S.REFUNDED},
    S.PARTIALLY_REFUNDED: {S.REFUNDED, S.CANCELLING, S.CANCELLED},
    S.REFUNDED: {S.CANCELLING, S.CANCELLED},
    S.CANCELLING: {S.CANCELLED},
    S.CANCELLED: set(),
}
PAID = (S.CONFIRMED, S.FULFILLED, S.PARTIALLY_REFUNDED, S.REFUNDED)


class OrderMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World()
        self.state, self.commands = begin(ORDER, (("SKU-1", 2),), Money(AMOUNT, "EUR"), "tok", T0, POLICY)
        self.now: datetime = T0
        # The model: what was asked and accepted.
        self.refunds: dict[str, int] = {}
        self.cancelled = False
        self.tracking: str | None = None

    @initialize(
        stock=st.booleans(),
        outcome=st.sampled_from(["ok", "ok", "ok", "DECLINED", "ERROR"]),
        capture_rejected=st.sampled_from([False, False, False, True]),
        alone=st.sampled_from([False, False, True]),
    )
    def participants(self, stock: bool, outcome: str, capture_rejected: bool, alone: bool) -> None:
        self.world.stock_available = stock
        self.world.authorize_outcome = outcome
        self.world.capture_rejected = capture_rejected
        self.world.authorization_alone = alone

    def _move(self, after: SagaState, sent: list[SagaCommand]) -> None:
        before = self.state.status
        if after.status is not before:
            allowed = NEXT.get(before)
            if allowed is not None:
                assert after.status in allowed, f"{before} -> {after.status}"
            else:  # still checking out: forward, to compensation, confirmation or cancellation
                assert RANK[after.status] > RANK[before] or after.status is S.CANCELLING, (
                    before,
                    after.status,
                )
        self.state = after
        self.commands.extend(sent)

    def _feed(self, message: SagaMessage | Timeout) -> None:
        self._move(*decide(self.state, message, self.now, POLICY))

    @rule(data=st.data(), twice=st.booleans())
    @precondition(lambda self: bool(self.commands))
    def deliver_command(self, data: st.DataObject, twice: bool) -> None:
        i = data.draw(st.integers(0, len(self.commands) - 1))
        self.world.run(self.commands[i] if twice else self.commands.pop(i))

    @rule(data=st.data(), twice=st.booleans())
    @precondition(lambda self: bool(self.world.replies))
    def deliver_reply(self, data: st.DataObject, twice: bool) -> None:
        i = data.draw(st.integers(0, len(self.world.replies) - 1))
        self._feed(self.world.replies[i] if twice else self.world.replies.pop(i))

    @rule()
    @precondition(lambda self: self.state.deadline is not None)
    def time_out(self) -> None:
        assert self.state.deadline is not None
        self.now = self.state.deadline
        self._feed(Timeout())

    @rule()
    def expire_reservation(self) -> None:
        self.world.expire()

    @rule()
    def stock_changes(self) -> None:
        self.world.stock_available = not self.world.stock_available

    @rule()
    def cancel(self) -> None:
        s = self.state
        refused = not self.cancelled and (
            self.tracking is not None
            or s.status in (S.REJECTED, S.COMPENSATING)
            or s.refunded < sum(self.refunds.values())
        )
        try:
            self._move(*after_purchase.cancel(s, CancelOrder(ORDER, "someone", ""), self.now, POLICY))
        except InvalidOrderState:
            assert refused
            return
        assert not refused
        self.cancelled = True

    @rule(tracking=st.sampled_from(["T-1", "T-2"]))
    def fulfil(self, tracking: str) -> None:
        if self.tracking is not None:
            expected: type[Exception] | None = None if tracking == self.tracking else AlreadyFulfilled
        else:
            expected = None if self.state.status is S.CONFIRMED else InvalidOrderState
        try:
            self._move(*after_purchase.fulfil(self.state, FulfillOrder(ORDER, tracking, "staff")))
        except (AlreadyFulfilled, InvalidOrderState) as exc:
            assert type(exc) is expected
            return
        assert expected is None
        self.tracking = tracking

    @rule(key=st.sampled_from(["r1", "r2", "r3"]), amount=st.sampled_from([1000, 2500, AMOUNT]))
    def refund(self, key: str, amount: int) -> None:
        expected: type[Exception] | None = None
        if key in self.refunds:
            expected = None if self.refunds[key] == amount else RefundKeyReused
        elif self.cancelled or self.state.status not in PAID or self.state.status is S.REFUNDED:
            expected = InvalidOrderState  # a fully refunded order has nothing left to refund
        elif amount > AMOUNT - sum(self.refunds.values()):
            expected = RefundExceedsCaptured
        command = RefundOrder(ORDER, Money(amount, "EUR"), key, "staff")
        try:
            self._move(*after_purchase.refund(self.state, command, self.now, POLICY))
        except (RefundKeyReused, InvalidOrderState, RefundExceedsCaptured) as exc:
            assert type(exc) is expected
            return
        assert expected is None
        self.refunds.setdefault(key, amount)

    @rule()
    def settle(self) -> None:
        """Deliver everything in flight, firing due timeouts when idle; then the end-state checks."""
        for _ in range(500):
            if self.world.replies:
                self._feed(self.world.replies.pop(0))
            elif self.commands:
                self.world.run(self.commands.pop(0))
            elif self.state.deadline is not None:
                self.now = self.state.deadline + timedelta(seconds=1)
                self._feed(Timeout())
            else:
                break
        s, world = self.state, self.world
        assert s.deadline is None and s.status.is_terminal
        kept = world.captured - world.refunded
        if self.cancelled:
            assert s.status is S.CANCELLED
            assert (kept, world.reservation in ("ACTIVE", "COMMITTED")) == (0, False)
        elif s.status is S.REJECTED:
            assert (kept, world.reservation in ("ACTIVE", "COMMITTED")) == (0, False)
            assert self.refunds == {} and self.tracking is None
        else:
            asked = sum(self.refunds.values())
            assert (world.captured, world.refunded, s.refunded) == (AMOUNT, asked, asked)
            assert world.reservation == "COMMITTED"
            expected = S.REFUNDED if asked == AMOUNT else S.PARTIALLY_REFUNDED if asked else None
            assert s.status is (expected or (S.FULFILLED if self.tracking else S.CONFIRMED))

    @invariant()
    def nothing_doubled(self) -> None:
        w = self.world
        assert (w.holds <= 1, w.authorizations <= 1, w.captures <= 1) == (True, True, True)
        assert 0 <= w.refunded <= w.captured <= AMOUNT
        # The order knows no more refunded than payments did; before a cancel, never more than asked
        # (a checkout that fails after the capture refunds it all: the compensation).
        assert self.state.refunded <= w.refunded
        if not self.cancelled and self.state.status not in (S.COMPENSATING, S.REJECTED):
            assert w.refunded <= sum(self.refunds.values())

    @invariant()
    def confirmed_only_on_facts(self) -> None:
        if self.state.status in PAID and not self.cancelled:
            assert self.world.reservation == "COMMITTED"
            assert self.world.intent in ("CAPTURED", "REFUNDED")


OrderMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestOrderAggregate = OrderMachine.TestCase
