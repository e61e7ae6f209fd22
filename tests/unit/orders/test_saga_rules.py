"""The saga's rules one at a time: first command, reasons, bounded retries, the pivot, keys, codec."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from mercato.orders.domain import events
from mercato.orders.domain.model import OrderStatus, RejectReason
from mercato.orders.domain.saga import begin, decide, resume
from mercato.orders.domain.saga_codec import from_document, to_document
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
    PaymentVoided,
    RefundPayment,
    ReleaseStock,
    ReserveStock,
    SagaState,
    Stock,
    StockCommitted,
    StockReleased,
    StockReserved,
    Timeout,
    VoidPayment,
)
from mercato.orders.entrypoints.saga import PAYMENT_REPLIES
from mercato.platform.events import Envelope
from mercato.platform.types import Money
from tests.unit.orders.saga_world import IID, ORDER, RID
from tests.unit.orders.test_saga_table import DUE, POLICY, STATES, T0


def started() -> SagaState:
    state, _ = begin(ORDER, (("SKU-1", 2),), Money(5000, "EUR"), "tok_ok", T0, POLICY)
    return state


def test_a_new_saga_reserves_the_stock_first_with_a_deadline() -> None:
    state, commands = begin(ORDER, (("SKU-1", 2), ("SKU-2", 1)), Money(5000, "EUR"), "tok_ok", T0, POLICY)
    assert commands == [ReserveStock(ORDER, (("SKU-1", 2), ("SKU-2", 1)), POLICY.reservation_ttl_seconds)]
    assert (state.status, state.stock, state.payment) == (OrderStatus.PENDING, Stock.REQUESTED, Payment.NONE)
    assert state.deadline == T0 + POLICY.step_timeout
    assert state.attempts == 0


CHARGE = AuthorizeAndCapturePayment(
    ORDER, Money(5000, "EUR"), "tok_ok", f"order:{ORDER}:authorize", f"order:{ORDER}:capture"
)


def test_the_happy_path_sends_each_command_once_and_confirms() -> None:
    state = started()
    sent: list[object] = []
    statuses = []
    for message in (StockReserved(RID), PaymentCaptured(IID)):
        state, commands = decide(state, message, T0, POLICY)
        sent.extend(commands)
        statuses.append(state.status)
    state, commands = decide(state, StockCommitted(RID), T0, POLICY)
    # Authorize and capture are one command and one reply: the saga never waits in PAYMENT_AUTHORIZED.
    assert sent == [CHARGE, CommitStock(ORDER, RID)]
    assert statuses == [OrderStatus.STOCK_RESERVED, OrderStatus.PAYMENT_CAPTURED]
    assert commands == []
    assert (state.status, state.reason, state.deadline) == (OrderStatus.CONFIRMED, None, None)


def test_a_saga_that_sent_the_separate_authorization_captures_separately() -> None:
    state, sent = STATES["reserved_before"], []
    for message in (PaymentAuthorized(IID), PaymentCaptured(IID), StockCommitted(RID)):
        state, commands = decide(state, message, T0, POLICY)
        sent.extend(commands)
    assert sent == [CapturePayment(ORDER, IID, f"order:{ORDER}:capture"), CommitStock(ORDER, RID)]
    assert (state.status, state.reason, state.deadline) == (OrderStatus.CONFIRMED, None, None)
    resent, commands = decide(STATES["reserved_before"], Timeout(), DUE, POLICY)
    assert commands == [AuthorizePayment(ORDER, Money(5000, "EUR"), "tok_ok", f"order:{ORDER}:authorize")]
    assert resent.payment is Payment.REQUESTED


def test_a_capture_refused_after_the_authorization_voids_the_intent_it_names() -> None:
    state, commands = decide(
        STATES["reserved"], PaymentCaptureFailed("PROVIDER_REJECTED", "pi-7"), T0, POLICY
    )
    assert commands == [
        VoidPayment(ORDER, "pi-7", f"order:{ORDER}:void"),
        ReleaseStock(ORDER, RID, "order PAYMENT_ERROR"),
    ]
    assert (state.status, state.reason, state.payment, state.intent_id) == (
        OrderStatus.COMPENSATING,
        RejectReason.PAYMENT_ERROR,
        Payment.VOIDING,
        "pi-7",
    )


@pytest.mark.parametrize(
    ("code", "error", "reason"),
    [
        ("INSUFFICIENT_FUNDS", False, RejectReason.INSUFFICIENT_FUNDS),
        ("PAYMENT_DECLINED", False, RejectReason.PAYMENT_DECLINED),
        ("DECLINED", False, RejectReason.PAYMENT_DECLINED),
        ("INVALID", True, RejectReason.PAYMENT_ERROR),
    ],
)
def test_a_decline_releases_the_stock_with_its_reason(code: str, error: bool, reason: RejectReason) -> None:
    state, commands = decide(STATES["reserved"], PaymentDeclined(code, error=error), T0, POLICY)
    assert commands == [ReleaseStock(ORDER, RID, f"order {reason.value}")]
    assert (state.status, state.reason) == (OrderStatus.COMPENSATING, reason)


def test_a_forward_step_is_resent_max_retries_times_then_compensated_as_timeout() -> None:
    state = STATES["reserved"]
    now = DUE
    for attempt in range(1, POLICY.max_retries + 1):
        state, commands = decide(state, Timeout(), now, POLICY)
        assert commands == [CHARGE]
        assert state.attempts == attempt
        assert state.deadline == now + POLICY.step_timeout
        now = state.deadline
    state, commands = decide(state, Timeout(), now, POLICY)
    assert commands == [ReleaseStock(ORDER, RID, "order TIMEOUT")]
    assert (state.status, state.reason, state.attempts) == (OrderStatus.COMPENSATING, RejectReason.TIMEOUT, 0)


def test_a_timeout_before_the_deadline_changes_nothing() -> None:
    state = STATES["reserved"]
    assert decide(state, Timeout(), DUE - timedelta(microseconds=1), POLICY) == (state, [])


def test_the_commit_is_the_pivot_and_is_resent_whatever_the_attempts() -> None:
    state = replace(STATES["captured"], attempts=50)
    after, commands = decide(state, Timeout(), DUE, POLICY)
    assert commands == [CommitStock(ORDER, RID)]
    assert (after.status, after.attempts) == (OrderStatus.PAYMENT_CAPTURED, 51)


def test_compensations_are_resent_until_acknowledged_then_parked_for_a_person() -> None:
    # Given a void nobody confirmed after one re-send short of the parking limit
    state = replace(STATES["expired"], attempts=POLICY.park_after - 1)

    # When two more deadlines pass
    resent, commands = decide(state, Timeout(), DUE, POLICY)
    parked, nothing = decide(resent, Timeout(), resent.deadline, POLICY)

    # Then the void is re-sent once more, and then the saga stops re-sending and says why
    assert commands == [VoidPayment(ORDER, IID, f"order:{ORDER}:void")]
    assert resent.attempts == POLICY.park_after and resent.parked is None
    assert nothing == []
    assert parked.deadline is None and parked.status is OrderStatus.COMPENSATING
    assert parked.parked == f"void_payment unconfirmed after {POLICY.park_after} re-sends"


def test_a_parked_saga_goes_on_when_the_answer_comes_late_or_a_person_resumes_it() -> None:
    parked = replace(STATES["expired"], attempts=POLICY.park_after, deadline=None, parked="void stuck")

    # A late answer settles it by itself
    settled, commands = decide(parked, PaymentVoided(IID), DUE, POLICY)
    assert (settled.status, settled.parked, settled.deadline) == (OrderStatus.REJECTED, None, None)
    assert commands == []

    # A person's resume re-arms it: due at once, its re-sends counted afresh
    resumed = resume(parked, DUE)
    assert (resumed.parked, resumed.deadline, resumed.attempts) == (None, DUE, 0)
    again, commands = decide(resumed, Timeout(), DUE, POLICY)
    assert commands == [VoidPayment(ORDER, IID, f"order:{ORDER}:void")]
    assert again.deadline == DUE + POLICY.step_timeout
    assert resume(STATES["expired"], DUE) == STATES["expired"]  # not parked: nothing to resume


def test_a_parked_saga_woken_by_one_of_two_answers_waits_for_the_other_again() -> None:
    # Given a parked saga that awaits both a release and a refund
    state = replace(
        STATES["declined"], payment=Payment.REFUNDING, intent_id=IID, deadline=None, parked="stuck"
    )

    # When the release is confirmed
    after, commands = decide(state, StockReleased(RID), T0, POLICY)

    # Then it waits for the refund with a deadline again (re-sent at the next timeout)
    assert commands == [] and after.parked is None
    assert after.deadline == T0 + POLICY.step_timeout


def test_forward_steps_are_never_parked() -> None:
    # The commit is the pivot: it is re-sent whatever the count, never parked
    state = replace(STATES["captured"], attempts=POLICY.park_after + 5)
    after, commands = decide(state, Timeout(), DUE, POLICY)
    assert commands == [CommitStock(ORDER, RID)] and after.parked is None


def test_a_late_authorization_after_a_timeout_is_voided_once() -> None:
    state, commands = decide(STATES["timed_out"], PaymentAuthorized(IID), T0, POLICY)
    assert commands == [VoidPayment(ORDER, IID, f"order:{ORDER}:void")]
    again, twice = decide(state, PaymentAuthorized(IID), T0, POLICY)
    assert (again, twice) == (state, [])
    assert state.status is OrderStatus.REJECTED


def test_a_capture_that_beat_the_void_is_refunded() -> None:
    _, commands = decide(STATES["expired"], PaymentCaptured(IID), T0, POLICY)
    assert commands == [
        RefundPayment(ORDER, IID, Money(5000, "EUR"), f"order:{ORDER}:refund", "order TIMEOUT")
    ]


def test_the_state_survives_its_json_document() -> None:
    for state in STATES.values():
        assert from_document(to_document(state)) == state
    with pytest.raises(ValueError, match="version"):
        from_document({**to_document(started()), "v": 99})


def test_a_saga_stored_before_the_vault_keeps_its_raw_token_as_payment_method() -> None:
    # Given a version 2 document, which held the shopper's token under `payment_token`
    current = to_document(STATES["expired"])
    legacy = {k: v for k, v in current.items() if k != "payment_method"} | {"v": 2, "payment_token": "tok_ok"}
    # When it is read, the token is its payment method (payments pays a raw token as before)
    state = from_document(legacy)
    assert state == replace(STATES["expired"], payment_method="tok_ok")
    assert "payment_token" not in to_document(state) and to_document(state)["v"] == 3


def test_commands_travel_as_orders_events_with_the_order_as_reference() -> None:
    reserve = Envelope.of(events.command_event(ReserveStock(ORDER, (("SKU-1", 2),), 900)))
    assert reserve.type == "orders.reserve_stock_requested"
    assert reserve.aggregate_id == str(ORDER)
    assert reserve.payload == {
        "order_id": str(ORDER),
        "reference": str(ORDER),
        "lines": [{"sku": "SKU-1", "quantity": 2}],
        "ttl_seconds": 900,
    }
    authorize = Envelope.of(
        events.command_event(AuthorizePayment(ORDER, Money(5000, "EUR"), "tok_ok", "order:x:authorize"))
    )
    assert authorize.type == "orders.authorize_payment_requested"
    assert authorize.payload == {
        "order_id": str(ORDER),
        "amount": 5000,
        "currency": "EUR",
        "payment_method": "tok_ok",
        "idempotency_key": "order:x:authorize",
    }
    charge = Envelope.of(events.command_event(CHARGE))
    assert charge.type == "orders.authorize_and_capture_payment_requested"
    assert charge.payload == {
        "order_id": str(ORDER),
        "amount": 5000,
        "currency": "EUR",
        "payment_method": "tok_ok",
        "idempotency_key": f"order:{ORDER}:authorize",
        "capture_idempotency_key": f"order:{ORDER}:capture",
    }
    refund = Envelope.of(
        events.command_event(RefundPayment(ORDER, IID, Money(5000, "EUR"), "order:x:refund", "order TIMEOUT"))
    )
    assert refund.type == "orders.refund_payment_requested"
    assert refund.payload["intent_id"] == IID
    assert refund.payload["amount"] == 5000


def test_a_refused_capture_that_names_no_intent_changes_nothing_until_one_does() -> None:
    # Nothing to void it with: the saga keeps waiting; the re-sent command's reply names it.
    assert decide(STATES["reserved"], PaymentCaptureFailed("PROVIDER_REJECTED"), T0, POLICY) == (
        STATES["reserved"],
        [],
    )


def test_a_capture_refused_by_payments_is_translated_with_its_intent() -> None:
    field, translate = PAYMENT_REPLIES["payments.payment_operation_failed"]
    payload = {
        "order_reference": str(ORDER),
        "intent_id": IID,
        "operation": "CAPTURE",
        "code": "PROVIDER_REJECTED",
    }
    assert (field, translate(payload)) == ("order_reference", PaymentCaptureFailed("PROVIDER_REJECTED", IID))
    refused = translate({**payload, "operation": "AUTHORIZE", "intent_id": "", "code": "INVALID"})
    assert refused == PaymentDeclined("INVALID", error=True)
