"""The same key again answers the first outcome without calling the provider; the same key with
other parameters is refused."""

from __future__ import annotations

import pytest

from mercato.payments import (
    AuthorizePayment,
    AuthorizePaymentErrorCode,
    CapturePayment,
    CapturePaymentErrorCode,
    IntentStatus,
    PaymentDeclined,
    RefundPayment,
    RefundPaymentErrorCode,
    VoidPayment,
    VoidPaymentErrorCode,
)
from mercato.payments.bootstrap import PaymentsService
from mercato.platform.db import Database
from mercato.platform.errors import Conflict
from mercato.platform.types import Money
from tests.conftest import ref
from tests.service.payments.conftest import SpyProvider, ledger, operations, usd


def auth(order: str, key: str, amount: int = 3_000, token: str = "tok_success") -> AuthorizePayment:
    return AuthorizePayment(
        order_reference=order, amount=usd(amount), payment_token=token, idempotency_key=key
    )


async def test_authorize_replay_returns_the_first_intent_and_reuse_is_refused(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order, key = ref("order"), ref("k")
    first = await service.handle(auth(order, key))
    assert await service.handle(auth(order, key)) == first
    for other in (
        auth(order, key, amount=3_001),
        auth(ref("order"), key),
        auth(order, key, token="tok_ok_2"),
    ):
        with pytest.raises(Conflict) as caught:
            await service.handle(other)
        assert caught.value.code is AuthorizePaymentErrorCode.IDEMPOTENCY_KEY_REUSED
    assert provider.calls == {"authorize": 1}
    assert await service.queries.intents_for_order(order) == [first]
    assert await ledger(db, first.id) == [("AUTHORIZATION", 3_000, "USD")]


async def test_declined_authorize_replays_the_decline(
    service: PaymentsService, provider: SpyProvider
) -> None:
    order, key = ref("order"), ref("k")
    with pytest.raises(PaymentDeclined) as first:
        await service.handle(auth(order, key, token="tok_insufficient_funds"))
    with pytest.raises(PaymentDeclined) as replay:
        await service.handle(auth(order, key, token="tok_insufficient_funds"))
    assert first.value.code is replay.value.code is AuthorizePaymentErrorCode.INSUFFICIENT_FUNDS
    assert first.value.intent_id == replay.value.intent_id
    assert provider.calls == {"authorize": 1}
    assert len(await service.queries.intents_for_order(order)) == 1


async def test_capture_replay_returns_the_capture_outcome_even_after_later_changes(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    intent = await service.handle(auth(ref("order"), ref("k")))
    key = ref("k")
    captured = await service.handle(CapturePayment(intent_id=intent.id, idempotency_key=key))
    await service.handle(
        RefundPayment(intent_id=intent.id, amount=usd(100), idempotency_key=ref("k"), reason="x")
    )
    # The first outcome, not the intent as it is now (PARTIALLY_REFUNDED).
    assert await service.handle(CapturePayment(intent_id=intent.id, idempotency_key=key)) == captured
    explicit = CapturePayment(intent_id=intent.id, idempotency_key=key, amount=usd(3_000))
    assert await service.handle(explicit) == captured  # the same request, amount spelled out
    assert captured.status is IntentStatus.CAPTURED
    other = await service.handle(auth(ref("order"), ref("k")))
    with pytest.raises(Conflict) as other_intent:
        await service.handle(CapturePayment(intent_id=other.id, idempotency_key=key))
    assert other_intent.value.code is CapturePaymentErrorCode.IDEMPOTENCY_KEY_REUSED
    with pytest.raises(Conflict) as other_amount:
        await service.handle(
            CapturePayment(intent_id=intent.id, idempotency_key=key, amount=Money(3_000, "EUR"))
        )
    assert other_amount.value.code is CapturePaymentErrorCode.IDEMPOTENCY_KEY_REUSED
    assert provider.calls["capture"] == 1
    assert [row[0] for row in await ledger(db, intent.id)] == ["AUTHORIZATION", "CAPTURE", "REFUND"]


async def test_void_replay_and_reuse(service: PaymentsService, db: Database, provider: SpyProvider) -> None:
    intent = await service.handle(auth(ref("order"), ref("k")))
    key = ref("k")
    voided = await service.handle(VoidPayment(intent_id=intent.id, idempotency_key=key))
    assert await service.handle(VoidPayment(intent_id=intent.id, idempotency_key=key)) == voided
    other = await service.handle(auth(ref("order"), ref("k")))
    with pytest.raises(Conflict) as caught:
        await service.handle(VoidPayment(intent_id=other.id, idempotency_key=key))
    assert caught.value.code is VoidPaymentErrorCode.IDEMPOTENCY_KEY_REUSED
    assert provider.calls["void"] == 1
    assert (await service.queries.intent(other.id)) == other
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 3_000, "USD"), ("VOID", 3_000, "USD")]


async def test_refund_replay_and_reuse(service: PaymentsService, db: Database, provider: SpyProvider) -> None:
    intent = await service.handle(auth(ref("order"), ref("k")))
    await service.handle(CapturePayment(intent_id=intent.id, idempotency_key=ref("k")))
    key = ref("k")
    refund = RefundPayment(intent_id=intent.id, amount=usd(1_000), idempotency_key=key, reason="broken")
    first = await service.handle(refund)
    assert await service.handle(refund) == first
    other = await service.handle(auth(ref("order"), ref("k")))
    await service.handle(CapturePayment(intent_id=other.id, idempotency_key=ref("k")))
    for reused in (
        RefundPayment(intent_id=intent.id, amount=usd(999), idempotency_key=key, reason="broken"),
        RefundPayment(intent_id=intent.id, amount=usd(1_000), idempotency_key=key, reason="other"),
        RefundPayment(intent_id=other.id, amount=usd(1_000), idempotency_key=key, reason="broken"),
    ):
        with pytest.raises(Conflict) as caught:
            await service.handle(reused)
        assert caught.value.code is RefundPaymentErrorCode.IDEMPOTENCY_KEY_REUSED
    assert provider.calls["refund"] == 1
    assert await ledger(db, other.id) == [("AUTHORIZATION", 3_000, "USD"), ("CAPTURE", 3_000, "USD")]
    assert first.refunded_amount == usd(1_000)
    assert await ledger(db, intent.id) == [
        ("AUTHORIZATION", 3_000, "USD"),
        ("CAPTURE", 3_000, "USD"),
        ("REFUND", 1_000, "USD"),
    ]
    assert [op[:2] for op in await operations(db, intent.id)] == [
        ("AUTHORIZE", "SUCCEEDED"),
        ("CAPTURE", "SUCCEEDED"),
        ("REFUND", "SUCCEEDED"),
    ]
