"""Authorize, capture, refund, void: the intent, its ledger rows, reconcile and totals, exactly."""

from __future__ import annotations

import uuid

import pytest

from mercato.payments import (
    AuthorizePayment,
    CapturePayment,
    CapturePaymentErrorCode,
    IntentStatus,
    Reconciliation,
    RefundPayment,
    RefundPaymentErrorCode,
    VoidPayment,
    VoidPaymentErrorCode,
)
from mercato.payments.bootstrap import PaymentsService
from mercato.platform.db import Database
from mercato.platform.errors import ClientError, Conflict, InputRejected, NotFound
from mercato.platform.types import Money
from tests.conftest import ref
from tests.service.payments.conftest import SpyProvider, charges, events, ledger, operations, usd


async def authorized(service: PaymentsService, amount: int = 10_000, order: str | None = None) -> uuid.UUID:
    intent = await service.handle(
        AuthorizePayment(
            order_reference=order or ref("order"),
            amount=usd(amount),
            payment_token="tok_success",
            idempotency_key=ref("auth"),
        )
    )
    return intent.id


async def test_authorize_capture_then_partial_and_full_refund(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order = ref("order")
    totals_before = await service.queries.totals()
    intent = await service.handle(
        AuthorizePayment(
            order_reference=order, amount=usd(10_000), payment_token="tok_success", idempotency_key=ref("k")
        )
    )
    assert (intent.status, intent.amount, intent.version) == (IntentStatus.AUTHORIZED, usd(10_000), 2)
    assert intent.provider == "sandbox"
    assert intent.provider_reference is not None and intent.provider_reference.startswith("ch_")
    assert charges(provider, intent.provider_reference) == [("AUTHORIZED", 10_000, 0, 0)]

    captured = await service.handle(CapturePayment(intent_id=intent.id, idempotency_key=ref("k")))
    assert (captured.status, captured.captured_amount, captured.refunded_amount) == (
        IntentStatus.CAPTURED,
        usd(10_000),
        usd(0),
    )
    partly = await service.handle(
        RefundPayment(intent_id=intent.id, amount=usd(2_500), idempotency_key=ref("k"), reason="damaged")
    )
    assert (partly.status, partly.refunded_amount) == (IntentStatus.PARTIALLY_REFUNDED, usd(2_500))
    fully = await service.handle(
        RefundPayment(intent_id=intent.id, amount=usd(7_500), idempotency_key=ref("k"), reason="returned")
    )
    assert (fully.status, fully.captured_amount, fully.refunded_amount, fully.version) == (
        IntentStatus.REFUNDED,
        usd(10_000),
        usd(10_000),
        5,
    )

    assert await ledger(db, intent.id) == [
        ("AUTHORIZATION", 10_000, "USD"),
        ("CAPTURE", 10_000, "USD"),
        ("REFUND", 2_500, "USD"),
        ("REFUND", 7_500, "USD"),
    ]
    [reconciliation] = await service.queries.reconcile(order)
    assert reconciliation == Reconciliation(
        order_reference=order, currency="USD", authorized=10_000, captured=10_000, refunded=10_000, voided=0
    )
    assert reconciliation.net == 0
    totals_after = await service.queries.totals()
    assert totals_after.get("USD", 0) - totals_before.get("USD", 0) == 0
    assert charges(provider, intent.provider_reference) == [("REFUNDED", 10_000, 10_000, 10_000)]
    assert await service.queries.intent(intent.id) == fully
    assert [op[:3] for op in await operations(db, intent.id)] == [
        ("AUTHORIZE", "SUCCEEDED", None),
        ("CAPTURE", "SUCCEEDED", None),
        ("REFUND", "SUCCEEDED", None),
        ("REFUND", "SUCCEEDED", None),
    ]
    assert provider.calls == {"authorize": 1, "capture": 1, "refund": 2}


async def test_events_carry_ids_amounts_and_totals(service: PaymentsService, db: Database) -> None:
    order = ref("order")
    intent_id = await authorized(service, 4_000, order)
    await service.handle(CapturePayment(intent_id=intent_id, idempotency_key=ref("k")))
    await service.handle(
        RefundPayment(intent_id=intent_id, amount=usd(1_000), idempotency_key=ref("k"), reason="late")
    )
    found = await events(db, intent_id)
    assert [e.type for e in found] == [
        "payments.payment_authorized",
        "payments.payment_captured",
        "payments.payment_refunded",
    ]
    common = {"intent_id": str(intent_id), "order_reference": order, "currency": "USD"}
    assert found[0].payload == {
        **common,
        "amount": 4_000,
        "provider": "sandbox",
        "provider_reference": found[0].payload["provider_reference"],
    }
    assert found[1].payload == {**common, "amount": 4_000, "captured_total": 4_000}
    assert found[2].payload == {
        **common,
        "amount": 1_000,
        "refunded_total": 1_000,
        "captured_total": 4_000,
        "reason": "late",
        "status": "PARTIALLY_REFUNDED",
    }
    assert all(e.aggregate_id == str(intent_id) for e in found)


async def test_void_after_authorize_releases_the_authorization(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order = ref("order")
    intent_id = await authorized(service, 2_000, order)
    voided = await service.handle(VoidPayment(intent_id=intent_id, idempotency_key=ref("k")))
    assert (voided.status, voided.captured_amount) == (IntentStatus.VOIDED, usd(0))
    assert await ledger(db, intent_id) == [("AUTHORIZATION", 2_000, "USD"), ("VOID", 2_000, "USD")]
    assert await service.queries.reconcile(order) == [
        Reconciliation(order, "USD", authorized=2_000, captured=0, refunded=0, voided=2_000)
    ]
    assert charges(provider, voided.provider_reference) == [("VOIDED", 2_000, 0, 0)]
    assert [e.type for e in await events(db, intent_id)][-1] == "payments.payment_voided"


async def test_capture_after_void_is_invalid_state_and_writes_nothing(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    intent_id = await authorized(service)
    await service.handle(VoidPayment(intent_id=intent_id, idempotency_key=ref("k")))
    with pytest.raises(Conflict) as caught:
        await service.handle(CapturePayment(intent_id=intent_id, idempotency_key=ref("k")))
    assert caught.value.code is CapturePaymentErrorCode.INVALID_STATE
    assert await ledger(db, intent_id) == [("AUTHORIZATION", 10_000, "USD"), ("VOID", 10_000, "USD")]
    assert [op[0] for op in await operations(db, intent_id)] == ["AUTHORIZE", "VOID"]
    assert provider.calls["capture"] == 0


async def test_void_after_capture_and_refund_before_capture_are_invalid_state(
    service: PaymentsService, db: Database
) -> None:
    intent_id = await authorized(service)
    with pytest.raises(Conflict) as early_refund:
        await service.handle(
            RefundPayment(intent_id=intent_id, amount=usd(1), idempotency_key=ref("k"), reason="x")
        )
    assert early_refund.value.code is RefundPaymentErrorCode.INVALID_STATE
    await service.handle(CapturePayment(intent_id=intent_id, idempotency_key=ref("k")))
    with pytest.raises(Conflict) as late_void:
        await service.handle(VoidPayment(intent_id=intent_id, idempotency_key=ref("k")))
    assert late_void.value.code is VoidPaymentErrorCode.INVALID_STATE
    assert await ledger(db, intent_id) == [("AUTHORIZATION", 10_000, "USD"), ("CAPTURE", 10_000, "USD")]


async def test_refund_over_captured_is_refused_and_nothing_is_written(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    intent_id = await authorized(service, 5_000)
    await service.handle(CapturePayment(intent_id=intent_id, idempotency_key=ref("k")))
    await service.handle(
        RefundPayment(intent_id=intent_id, amount=usd(3_000), idempotency_key=ref("k"), reason="x")
    )
    before = await service.queries.intent(intent_id)
    key = ref("k")
    with pytest.raises(Conflict) as caught:
        await service.handle(
            RefundPayment(intent_id=intent_id, amount=usd(2_001), idempotency_key=key, reason="x")
        )
    assert caught.value.code is RefundPaymentErrorCode.REFUND_EXCEEDS_CAPTURED
    assert caught.value.field == "amount"
    assert await service.queries.intent(intent_id) == before
    assert await ledger(db, intent_id) == [
        ("AUTHORIZATION", 5_000, "USD"),
        ("CAPTURE", 5_000, "USD"),
        ("REFUND", 3_000, "USD"),
    ]
    assert len(await operations(db, intent_id)) == 3
    assert provider.calls["refund"] == 1
    # Nothing was recorded under the key: it may be used again with a valid amount.
    rest = await service.handle(
        RefundPayment(intent_id=intent_id, amount=usd(2_000), idempotency_key=key, reason="x")
    )
    assert (rest.status, rest.refunded_amount) == (IntentStatus.REFUNDED, usd(5_000))


async def test_partial_capture_and_other_currency_are_refused(service: PaymentsService, db: Database) -> None:
    intent_id = await authorized(service, 5_000)
    with pytest.raises(ClientError) as partial:
        await service.handle(CapturePayment(intent_id=intent_id, idempotency_key=ref("k"), amount=usd(4_000)))
    assert partial.value.code is CapturePaymentErrorCode.PARTIAL_CAPTURE_NOT_SUPPORTED
    with pytest.raises(Conflict) as currency:
        await service.handle(
            CapturePayment(intent_id=intent_id, idempotency_key=ref("k"), amount=Money(5_000, "EUR"))
        )
    assert currency.value.code is CapturePaymentErrorCode.CURRENCY_MISMATCH
    full = await service.handle(
        CapturePayment(intent_id=intent_id, idempotency_key=ref("k"), amount=usd(5_000))
    )
    assert full.status is IntentStatus.CAPTURED
    assert await ledger(db, intent_id) == [("AUTHORIZATION", 5_000, "USD"), ("CAPTURE", 5_000, "USD")]


async def test_unknown_intent_is_not_found(service: PaymentsService) -> None:
    with pytest.raises(NotFound) as caught:
        await service.handle(CapturePayment(intent_id=uuid.uuid4(), idempotency_key=ref("k")))
    assert caught.value.code is CapturePaymentErrorCode.INTENT_NOT_FOUND
    assert await service.queries.intent(uuid.uuid4()) is None


async def test_bad_input_is_rejected_with_the_mutations_codes(
    service: PaymentsService, provider: SpyProvider
) -> None:
    order = ref("order")
    with pytest.raises(InputRejected) as caught:
        await service.handle(
            AuthorizePayment(order_reference=" ", amount=usd(0), payment_token="", idempotency_key="k" * 201)
        )
    assert [(e.field, e.code.name) for e in caught.value.errors] == [
        ("orderReference", "REQUIRED"),
        ("amount", "OUT_OF_RANGE"),
        ("paymentToken", "REQUIRED"),
        ("idempotencyKey", "TOO_LONG"),
    ]
    assert all(type(e.code).__name__ == "AuthorizePaymentErrorCode" for e in caught.value.errors)
    with pytest.raises(InputRejected) as refund:
        await service.handle(
            RefundPayment(intent_id=uuid.uuid4(), amount=usd(-5), idempotency_key="", reason="")
        )
    assert [(e.field, e.code) for e in refund.value.errors] == [
        ("amount", RefundPaymentErrorCode.OUT_OF_RANGE),
        ("idempotencyKey", RefundPaymentErrorCode.REQUIRED),
        ("reason", RefundPaymentErrorCode.REQUIRED),
    ]
    assert await service.queries.intents_for_order(order) == []
    assert sum(provider.calls.values()) == 0
