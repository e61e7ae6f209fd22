"""The payment intent's state machine, its ledger entries and events, and the input checks: pure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.payments import (
    AuthorizePayment,
    CapturePayment,
    DeclineCode,
    IntentStatus,
    LedgerKind,
    OperationKind,
    PaymentIntent,
    RefundPayment,
)
from mercato.payments.domain import events
from mercato.payments.domain.checks import check_authorize, check_capture, check_refund
from mercato.payments.domain.operations import OperationRequest, PaymentOperation, outcome_code
from mercato.payments.domain.rules import (
    CurrencyMismatch,
    InvalidState,
    PartialCaptureNotSupported,
    PaymentDeclined,
    ProviderRejected,
    RefundExceedsCaptured,
)
from mercato.platform.errors import ClientError, InputRejected, Problem
from mercato.platform.events import Envelope
from mercato.platform.types import Money

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
OP = uuid.UUID(int=7)


def usd(amount: int) -> Money:
    return Money(amount, "USD")


def new_intent(amount: int = 10_000) -> PaymentIntent:
    return PaymentIntent.open(order_reference="order-1", amount=usd(amount), provider="sandbox", now=NOW)


def authorized(amount: int = 10_000) -> PaymentIntent:
    intent = new_intent(amount)
    return intent.succeeded(
        OperationKind.AUTHORIZE, intent.amount, operation_id=OP, provider_reference="ch_1", now=NOW
    ).intent


def test_full_lifecycle_moves_status_amounts_version_and_writes_one_entry_each() -> None:
    intent = new_intent()
    assert (intent.status, intent.version, intent.captured_amount) == (
        IntentStatus.REQUIRES_AUTHORIZATION,
        1,
        usd(0),
    )
    later = NOW + timedelta(minutes=1)
    auth = intent.succeeded(
        OperationKind.AUTHORIZE, usd(10_000), operation_id=OP, provider_reference="ch_9", now=later
    )
    assert (auth.intent.status, auth.intent.provider_reference, auth.intent.version) == (
        IntentStatus.AUTHORIZED,
        "ch_9",
        2,
    )
    assert auth.intent.updated_at == later and auth.intent.created_at == NOW
    assert auth.ledger is not None
    assert (auth.ledger.kind, auth.ledger.amount, auth.ledger.operation_id) == (
        LedgerKind.AUTHORIZATION,
        usd(10_000),
        OP,
    )
    cap = auth.intent.succeeded(
        OperationKind.CAPTURE, usd(10_000), operation_id=OP, provider_reference="c", now=NOW
    )
    assert (cap.intent.status, cap.intent.captured_amount) == (IntentStatus.CAPTURED, usd(10_000))
    part = cap.intent.succeeded(
        OperationKind.REFUND, usd(4_000), operation_id=OP, provider_reference="r", now=NOW, reason="dented"
    )
    assert (part.intent.status, part.intent.refunded_amount, part.intent.refundable) == (
        IntentStatus.PARTIALLY_REFUNDED,
        usd(4_000),
        usd(6_000),
    )
    rest = part.intent.succeeded(
        OperationKind.REFUND, usd(6_000), operation_id=OP, provider_reference="r", now=NOW
    )
    assert (rest.intent.status, rest.intent.refunded_amount, rest.intent.version) == (
        IntentStatus.REFUNDED,
        usd(10_000),
        5,
    )
    assert isinstance(part.event, events.PaymentRefunded)
    assert part.event.payload() == {
        "intent_id": str(intent.id),
        "order_reference": "order-1",
        "amount": 4_000,
        "currency": "USD",
        "refunded_total": 4_000,
        "captured_total": 10_000,
        "reason": "dented",
        "status": "PARTIALLY_REFUNDED",
    }


def test_void_releases_the_authorized_amount() -> None:
    voided = authorized(3_000).succeeded(
        OperationKind.VOID, usd(3_000), operation_id=OP, provider_reference="v", now=NOW
    )
    assert voided.intent.status is IntentStatus.VOIDED
    assert voided.ledger is not None and (voided.ledger.kind, voided.ledger.amount) == (
        LedgerKind.VOID,
        usd(3_000),
    )
    assert isinstance(voided.event, events.PaymentVoided)


@pytest.mark.parametrize(
    ("status_after", "kind"),
    [
        ("requires", OperationKind.CAPTURE),
        ("requires", OperationKind.VOID),
        ("requires", OperationKind.REFUND),
        ("authorized", OperationKind.AUTHORIZE),
        ("authorized", OperationKind.REFUND),
        ("captured", OperationKind.CAPTURE),
        ("captured", OperationKind.VOID),
        ("voided", OperationKind.CAPTURE),
        ("voided", OperationKind.REFUND),
        ("refunded", OperationKind.REFUND),
    ],
)
def test_illegal_transitions_are_invalid_state(status_after: str, kind: OperationKind) -> None:
    intent = new_intent(1_000)
    if status_after != "requires":
        intent = authorized(1_000)
    if status_after in ("captured", "refunded"):
        intent = intent.succeeded(
            OperationKind.CAPTURE, usd(1_000), operation_id=OP, provider_reference="c", now=NOW
        ).intent
    if status_after == "refunded":
        intent = intent.succeeded(
            OperationKind.REFUND, usd(1_000), operation_id=OP, provider_reference="r", now=NOW
        ).intent
    if status_after == "voided":
        intent = intent.succeeded(
            OperationKind.VOID, usd(1_000), operation_id=OP, provider_reference="v", now=NOW
        ).intent
    with pytest.raises(InvalidState) as caught:
        intent.succeeded(kind, usd(1), operation_id=OP, provider_reference="x", now=NOW)
    assert (caught.value.code, caught.value.operation, caught.value.status) == (
        "INVALID_STATE",
        kind.value,
        intent.status.value,
    )


def test_amount_rules() -> None:
    intent = authorized(1_000)
    with pytest.raises(PartialCaptureNotSupported):
        intent.check(OperationKind.CAPTURE, usd(999))
    with pytest.raises(CurrencyMismatch):
        intent.check(OperationKind.CAPTURE, Money(1_000, "EUR"))
    captured = intent.succeeded(
        OperationKind.CAPTURE, usd(1_000), operation_id=OP, provider_reference="c", now=NOW
    )
    with pytest.raises(RefundExceedsCaptured) as over:
        captured.intent.check(OperationKind.REFUND, usd(1_001))
    assert (over.value.asked, over.value.refundable, over.value.field) == (1_001, 1_000, "amount")
    with pytest.raises(ClientError) as zero:
        captured.intent.check(OperationKind.REFUND, usd(0))
    assert zero.value.code == "OUT_OF_RANGE"


def test_a_declined_authorization_fails_the_intent_other_declines_change_nothing() -> None:
    failed = new_intent().declined(OperationKind.AUTHORIZE, "INSUFFICIENT_FUNDS", now=NOW)
    assert (failed.intent.status, failed.intent.failure_code, failed.intent.version) == (
        IntentStatus.FAILED,
        "INSUFFICIENT_FUNDS",
        2,
    )
    assert failed.ledger is None
    assert (
        isinstance(failed.event, events.PaymentDeclined) and failed.event.decline_code == "INSUFFICIENT_FUNDS"
    )
    intent = authorized()
    refused = intent.declined(OperationKind.CAPTURE, "PROVIDER_REJECTED", now=NOW)
    assert (refused.intent, refused.ledger, refused.event) == (intent, None, None)


def test_outcome_codes_and_refusals() -> None:
    assert outcome_code(OperationKind.AUTHORIZE, DeclineCode.INSUFFICIENT_FUNDS) == "INSUFFICIENT_FUNDS"
    assert outcome_code(OperationKind.AUTHORIZE, DeclineCode.DECLINED) == "PAYMENT_DECLINED"
    assert outcome_code(OperationKind.REFUND, DeclineCode.AMOUNT_EXCEEDED) == "PROVIDER_REJECTED"
    request = OperationRequest(OperationKind.AUTHORIZE, "k", None, "order-1", usd(5), payment_token="tok_ok")
    operation = PaymentOperation.start(request, uuid.UUID(int=1))
    declined = PaymentOperation(**{**operation.__dict__, "outcome_code": "INSUFFICIENT_FUNDS"})
    refusal = declined.refusal()
    assert isinstance(refusal, PaymentDeclined)
    assert (refusal.code, refusal.intent_id) == ("INSUFFICIENT_FUNDS", uuid.UUID(int=1))
    capture = PaymentOperation.start(
        OperationRequest(OperationKind.CAPTURE, "k", uuid.UUID(int=1), "order-1", usd(5)), uuid.UUID(int=1)
    )
    assert isinstance(capture.refusal(), ProviderRejected)
    assert operation.reference == f"op_{operation.id.hex}"


def test_an_operation_answers_only_the_same_request() -> None:
    request = OperationRequest(OperationKind.AUTHORIZE, "k", None, "order-1", usd(5), payment_token="tok_ok")
    operation = PaymentOperation.start(request, uuid.UUID(int=1))
    assert operation.answers(request)
    assert not operation.answers(
        OperationRequest(OperationKind.AUTHORIZE, "k", None, "order-2", usd(5), "tok_ok")
    )
    assert not operation.answers(
        OperationRequest(OperationKind.AUTHORIZE, "k", None, "order-1", usd(6), "tok_ok")
    )
    assert not operation.answers(
        OperationRequest(OperationKind.AUTHORIZE, "k", None, "order-1", usd(5), "tok_x")
    )
    refund = OperationRequest(OperationKind.REFUND, "k", uuid.UUID(int=1), "order-1", usd(5), reason="a")
    refunding = PaymentOperation.start(refund, uuid.UUID(int=1))
    assert refunding.answers(refund)
    assert not refunding.answers(
        OperationRequest(OperationKind.REFUND, "k", uuid.UUID(int=2), "order-1", usd(5), reason="a")
    )
    assert not refunding.answers(
        OperationRequest(OperationKind.REFUND, "k", uuid.UUID(int=1), "order-1", usd(5), reason="b")
    )


def test_input_checks_collect_every_problem() -> None:
    with pytest.raises(InputRejected) as caught:
        check_authorize(
            AuthorizePayment(order_reference="", amount=usd(-1), payment_token=" ", idempotency_key="")
        )
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("orderReference", Problem.REQUIRED),
        ("amount", Problem.OUT_OF_RANGE),
        ("paymentToken", Problem.REQUIRED),
        ("idempotencyKey", Problem.REQUIRED),
    ]
    with pytest.raises(InputRejected) as capture:
        check_capture(CapturePayment(intent_id="nope", idempotency_key="k" * 201))  # type: ignore[arg-type]
    assert [(e.field, e.code) for e in capture.value.errors] == [
        ("intentId", Problem.INVALID),
        ("idempotencyKey", Problem.TOO_LONG),
    ]
    with pytest.raises(InputRejected) as refund:
        check_refund(RefundPayment(intent_id=uuid.uuid4(), amount=5, idempotency_key="k", reason="r" * 201))  # type: ignore[arg-type]
    assert [(e.field, e.code) for e in refund.value.errors] == [
        ("amount", Problem.INVALID),
        ("reason", Problem.TOO_LONG),
    ]
    check_capture(CapturePayment(intent_id=uuid.uuid4(), idempotency_key="k"))  # valid: no amount


def test_events_travel_under_the_payments_subjects() -> None:
    auth = new_intent().succeeded(
        OperationKind.AUTHORIZE, usd(10_000), operation_id=OP, provider_reference="ch_1", now=NOW
    )
    assert auth.event is not None
    envelope = Envelope.of(auth.event)
    assert (envelope.type, envelope.subject("mercato"), envelope.aggregate_id) == (
        "payments.payment_authorized",
        "mercato.payments.v1.payment_authorized",
        str(auth.intent.id),
    )
    assert Envelope.from_json(envelope.to_json()).payload == {
        "intent_id": str(auth.intent.id),
        "order_reference": "order-1",
        "amount": 10_000,
        "currency": "USD",
        "provider": "sandbox",
        "provider_reference": "ch_1",
    }


# -- random sequences of operations -------------------------------------------------------------

# Weighted towards what can succeed, so that long runs reach CAPTURED and the refund states: an
# amount is mostly picked from the intent's state ("full": the authorized amount, "rest" / "half":
# of the refundable), sometimes any number; mostly USD (the intent's currency); mostly approved.
amounts_st = st.integers(0, 9).flatmap(
    lambda i: (
        st.integers(min_value=-5, max_value=12_000) if i < 2 else st.just(("full", "rest", "half")[i % 3])
    )
)
operations_st = st.lists(
    st.tuples(
        st.sampled_from(
            [OperationKind.AUTHORIZE, OperationKind.VOID]
            + [OperationKind.CAPTURE] * 2
            + [OperationKind.REFUND] * 4
        ),
        amounts_st,
        st.sampled_from(["USD"] * 9 + ["EUR"]),
        st.integers(0, 4).map(lambda i: i > 0),  # the provider approves
    ),
    min_size=3,
    max_size=40,
)


def pick(intent: PaymentIntent, amount: int | str) -> int:
    if amount == "full":
        return intent.amount.amount
    if amount == "rest":
        return intent.refundable.amount
    if amount == "half":
        return intent.refundable.amount // 2
    assert isinstance(amount, int)
    return amount


@settings(max_examples=500, deadline=None)
@given(amount=st.integers(min_value=1, max_value=10_000), start_authorized=st.booleans(), steps=operations_st)
def test_no_sequence_refunds_more_than_captured_or_captures_more_than_authorized(
    amount: int, start_authorized: bool, steps: list[tuple[OperationKind, int | str, str, bool]]
) -> None:
    intent = authorized(amount) if start_authorized else new_intent(amount)
    entries: list[tuple[LedgerKind, int]] = [(LedgerKind.AUTHORIZATION, amount)] if start_authorized else []
    for kind, value, currency, approved in steps:
        before = intent
        asked = Money(pick(intent, value), currency)
        try:
            intent.check(kind, asked)
        except ClientError:
            # Refused before the provider is asked: nothing changes.
            with pytest.raises(ClientError):
                intent.succeeded(kind, asked, operation_id=OP, provider_reference="p", now=NOW)
            assert intent == before
            continue
        if approved:
            transition = intent.succeeded(kind, asked, operation_id=OP, provider_reference="p", now=NOW)
            assert transition.ledger is not None and transition.event is not None
            entries.append((transition.ledger.kind, transition.ledger.amount.amount))
        else:
            transition = intent.declined(kind, "DECLINED", now=NOW)
            assert transition.ledger is None
        intent = transition.intent
        assert intent.version in (before.version, before.version + 1)

        captured, refunded = intent.captured_amount.amount, intent.refunded_amount.amount
        assert 0 <= refunded <= captured <= amount
        assert {intent.captured_amount.currency, intent.refunded_amount.currency} == {"USD"}
        assert captured == sum(v for k, v in entries if k is LedgerKind.CAPTURE)
        assert refunded == sum(v for k, v in entries if k is LedgerKind.REFUND)
        assert sum(v for k, v in entries if k is LedgerKind.AUTHORIZATION) <= amount
        assert (intent.status is IntentStatus.REFUNDED) == (refunded == captured > 0)
        assert (intent.status is IntentStatus.PARTIALLY_REFUNDED) == (0 < refunded < captured)
        if intent.status in (IntentStatus.VOIDED, IntentStatus.FAILED, IntentStatus.AUTHORIZED):
            assert captured == 0
