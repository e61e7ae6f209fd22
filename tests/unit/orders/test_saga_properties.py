"""Random schedules of the saga against model participants: replies reordered, duplicated, late;
commands delivered twice; timeouts and reservation expiry at any moment; every outcome of the
stock and the provider (a capture refused after the authorization, an authorization reported
alone), for new sagas and for sagas started before authorize-and-capture became one command.
Whatever happens, once everything in flight has been delivered:

    CONFIRMED  -> the reservation is committed and the payment captured, each exactly once;
    REJECTED   -> no active reservation and no authorization left uncaptured (voided, refunded,
                  declined or never made), with a reason code.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.orders.domain import after_purchase
from mercato.orders.domain.commands import CancelOrder
from mercato.orders.domain.model import OrderStatus
from mercato.orders.domain.rules import InvalidOrderState
from mercato.orders.domain.saga import begin, decide
from mercato.orders.domain.saga_types import AuthorizePayment, Payment, SagaCommand, SagaState, Stock, Timeout
from mercato.platform.types import Money
from tests.unit.orders.saga_world import ORDER, RID, World
from tests.unit.orders.test_saga_table import POLICY, T0

ACTIONS = ("command", "command_twice", "reply", "reply_twice", "timeout", "expire")


def feed(state: SagaState, world: World, message: object, now: object, out: list[SagaCommand]) -> SagaState:
    after, commands = decide(state, message, now, POLICY)  # type: ignore[arg-type]
    out.extend(commands)
    # No state is ever CONFIRMED ahead of the facts.
    if after.status is OrderStatus.CONFIRMED:
        assert world.reservation == "COMMITTED"
        assert world.intent in ("CAPTURED", "REFUNDED")
    return after


def drain(state: SagaState, world: World, commands: list[SagaCommand], now: datetime) -> SagaState:
    """Deliver everything still in flight, in order, firing due timeouts when idle."""
    for _ in range(500):
        if world.replies:
            state = feed(state, world, world.replies.pop(0), now, commands)
        elif commands:
            world.run(commands.pop(0))
        elif state.deadline is not None:
            now = state.deadline + timedelta(seconds=1)
            state = feed(state, world, Timeout(), now, commands)
        else:
            return state
    raise AssertionError(f"the saga never settled: {state}")


def started_before_the_upgrade(state: SagaState, world: World) -> tuple[SagaState, list[SagaCommand]]:
    """A saga stored before authorize-and-capture was one command: stock reserved, the separate
    authorization sent and not answered yet."""
    world.reservation, world.holds = "ACTIVE", 1
    legacy = replace(
        state,
        status=OrderStatus.STOCK_RESERVED,
        stock=Stock.HELD,
        reservation_id=RID,
        payment=Payment.REQUESTED,
        deadline=T0 + POLICY.step_timeout,
    )
    return legacy, [AuthorizePayment(ORDER, state.amount, state.payment_method, f"order:{ORDER}:authorize")]


@settings(max_examples=400, deadline=None)
@given(
    data=st.data(),
    stock_available=st.booleans(),
    authorize_outcome=st.sampled_from(["ok", "ok", "ok", "DECLINED", "INSUFFICIENT_FUNDS", "ERROR"]),
    capture_rejected=st.sampled_from([False, False, False, True]),
    authorization_alone=st.sampled_from([False, False, False, True]),
    legacy=st.sampled_from([False, False, True]),
)
def test_any_schedule_ends_confirmed_with_both_or_rejected_with_neither(
    data: st.DataObject,
    stock_available: bool,
    authorize_outcome: str,
    capture_rejected: bool,
    authorization_alone: bool,
    legacy: bool,
) -> None:
    world = World(stock_available, authorize_outcome, capture_rejected, authorization_alone)
    state, commands = begin(ORDER, (("SKU-1", 2),), Money(5000, "EUR"), "tok", T0, POLICY)
    if legacy:
        state, commands = started_before_the_upgrade(state, world)
    now = T0
    for _ in range(data.draw(st.integers(0, 40), label="chaos steps")):
        action = data.draw(st.sampled_from(ACTIONS))
        if action.startswith("command") and commands:
            i = data.draw(st.integers(0, len(commands) - 1))
            cmd = commands[i] if action == "command_twice" else commands.pop(i)
            world.run(cmd)
        elif action.startswith("reply") and world.replies:
            i = data.draw(st.integers(0, len(world.replies) - 1))
            reply = world.replies[i] if action == "reply_twice" else world.replies.pop(i)
            state = feed(state, world, reply, now, commands)
        elif action == "timeout" and state.deadline is not None:
            now = state.deadline
            state = feed(state, world, Timeout(), now, commands)
        elif action == "expire":
            world.expire()
        # Participants change their minds over time: stock comes back, a retry may succeed.
        if data.draw(st.integers(0, 9)) == 0:
            world.stock_available = not world.stock_available

    state = drain(state, world, commands, now)

    assert state.status in (OrderStatus.CONFIRMED, OrderStatus.REJECTED)
    assert state.deadline is None
    if state.status is OrderStatus.CONFIRMED:
        assert (world.reservation, world.intent) == ("COMMITTED", "CAPTURED")
        assert state.reason is None
    else:
        assert world.reservation in (None, "RELEASED", "EXPIRED")
        assert world.intent in (None, "FAILED", "VOIDED", "REFUNDED")
        assert state.reason is not None
    # Nothing doubled: one reservation, one authorization, one capture at most.
    assert world.holds <= 1
    assert world.authorizations <= 1
    assert world.captures <= 1


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    capture_rejected=st.sampled_from([False, False, True]),
    authorization_alone=st.sampled_from([False, False, True]),
)
def test_a_cancel_at_any_point_leaves_no_stock_held_and_no_money_kept(
    data: st.DataObject, capture_rejected: bool, authorization_alone: bool
) -> None:
    """Cancel at a random moment of a chaotic checkout (or after it): once everything in flight is
    delivered the order is CANCELLED with no active or sold reservation, no open authorization, and
    captured - refunded = 0; or the cancel was refused because the order was already rejected."""
    world = World(True, "ok", capture_rejected, authorization_alone)
    state, commands = begin(ORDER, (("SKU-1", 2),), Money(5000, "EUR"), "tok", T0, POLICY)
    now = T0
    cancel_at = data.draw(st.integers(0, 30), label="cancel after step")
    refused = False
    for step in range(data.draw(st.integers(cancel_at, 40), label="chaos steps") + 1):
        if step == cancel_at:
            try:
                state, sent = after_purchase.cancel(state, CancelOrder(ORDER, "u", ""), now, POLICY)
                commands.extend(sent)
            except InvalidOrderState:
                refused = True
        action = data.draw(st.sampled_from(ACTIONS))
        if action.startswith("command") and commands:
            i = data.draw(st.integers(0, len(commands) - 1))
            world.run(commands[i] if action == "command_twice" else commands.pop(i))
        elif action.startswith("reply") and world.replies:
            i = data.draw(st.integers(0, len(world.replies) - 1))
            reply = world.replies[i] if action == "reply_twice" else world.replies.pop(i)
            state = feed(state, world, reply, now, commands)
        elif action == "timeout" and state.deadline is not None:
            now = state.deadline
            state = feed(state, world, Timeout(), now, commands)
        elif action == "expire":
            world.expire()

    state = drain(state, world, commands, now)

    assert state.deadline is None
    assert world.reservation in (None, "RELEASED", "EXPIRED", "RESTOCKED")
    assert world.intent in (None, "FAILED", "VOIDED", "REFUNDED")
    assert world.captured - world.refunded == 0
    assert state.status is (OrderStatus.REJECTED if refused else OrderStatus.CANCELLED)
