"""Races on real PostgreSQL: one capture for twenty retries, refunds never above the capture."""

from __future__ import annotations

import asyncio

from mercato.payments import (
    AuthorizePayment,
    CapturePayment,
    CapturePaymentErrorCode,
    IntentStatus,
    PaymentIntent,
    RefundPayment,
    RefundPaymentErrorCode,
    VoidPayment,
    VoidPaymentErrorCode,
)
from mercato.payments.bootstrap import PaymentsService
from mercato.platform.db import Database
from mercato.platform.errors import Conflict
from tests.conftest import ref
from tests.service.payments.conftest import SpyProvider, charges, ledger, operations, usd


async def authorized(service: PaymentsService, amount: int) -> PaymentIntent:
    return await service.handle(
        AuthorizePayment(
            order_reference=ref("order"),
            amount=usd(amount),
            payment_token="tok_success",
            idempotency_key=ref("k"),
        )
    )


async def test_twenty_concurrent_captures_with_one_key_capture_once(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    intent = await authorized(service, 8_000)
    key = ref("k")
    outcomes = await asyncio.gather(
        *(service.handle(CapturePayment(intent_id=intent.id, idempotency_key=key)) for _ in range(20)),
        return_exceptions=True,
    )
    # Every caller gets the one capture's outcome; none sees an error.
    assert [type(o).__name__ for o in outcomes] == ["PaymentIntent"] * 20
    assert len(set(outcomes)) == 1
    captured = outcomes[0]
    assert isinstance(captured, PaymentIntent)
    assert (captured.status, captured.captured_amount, captured.version) == (
        IntentStatus.CAPTURED,
        usd(8_000),
        3,
    )
    assert provider.calls["capture"] == 1
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 8_000, "USD"), ("CAPTURE", 8_000, "USD")]
    assert await operations(db, intent.id) == [
        ("AUTHORIZE", "SUCCEEDED", None, 1),
        ("CAPTURE", "SUCCEEDED", None, 1),
    ]
    assert charges(provider, intent.provider_reference) == [("CAPTURED", 8_000, 8_000, 0)]


async def test_twenty_concurrent_authorizations_with_one_key_make_one_intent(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order, key = ref("order"), ref("k")
    command = AuthorizePayment(
        order_reference=order, amount=usd(900), payment_token="tok_success", idempotency_key=key
    )
    outcomes = await asyncio.gather(*(service.handle(command) for _ in range(20)), return_exceptions=True)
    assert [type(o).__name__ for o in outcomes] == ["PaymentIntent"] * 20
    assert len(set(outcomes)) == 1
    [intent] = await service.queries.intents_for_order(order)
    assert intent == outcomes[0]
    assert provider.calls["authorize"] == 1
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 900, "USD")]


async def test_concurrent_refunds_with_distinct_keys_never_exceed_the_capture(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    intent = await authorized(service, 1_000)
    await service.handle(CapturePayment(intent_id=intent.id, idempotency_key=ref("k")))
    outcomes = await asyncio.gather(
        *(
            service.handle(
                RefundPayment(intent_id=intent.id, amount=usd(150), idempotency_key=ref("k"), reason="x")
            )
            for _ in range(10)
        ),
        return_exceptions=True,
    )
    won = [o for o in outcomes if isinstance(o, PaymentIntent)]
    lost = [o for o in outcomes if not isinstance(o, PaymentIntent)]
    assert (len(won), len(lost)) == (6, 4)
    # Anything else (a deadlock, a CHECK violation, a timeout) fails the test here.
    assert all(
        isinstance(e, Conflict) and e.code is RefundPaymentErrorCode.REFUND_EXCEEDS_CAPTURED for e in lost
    )
    assert sorted(w.refunded_amount.amount for w in won) == [150, 300, 450, 600, 750, 900]
    final = await service.queries.intent(intent.id)
    assert final is not None
    assert (final.status, final.refunded_amount) == (IntentStatus.PARTIALLY_REFUNDED, usd(900))
    entries = await ledger(db, intent.id)
    assert entries[2:] == [("REFUND", 150, "USD")] * 6
    assert provider.calls["refund"] == 6
    assert charges(provider, intent.provider_reference) == [("PARTIALLY_REFUNDED", 1_000, 1_000, 900)]


async def test_capture_and_void_race_one_wins(service: PaymentsService, db: Database) -> None:
    intent = await authorized(service, 500)
    capture, void = await asyncio.gather(
        service.handle(CapturePayment(intent_id=intent.id, idempotency_key=ref("k"))),
        service.handle(VoidPayment(intent_id=intent.id, idempotency_key=ref("k"))),
        return_exceptions=True,
    )
    outcomes = sorted([capture, void], key=lambda o: isinstance(o, BaseException))
    winner, loser = outcomes
    assert isinstance(winner, PaymentIntent) and isinstance(loser, Conflict)
    assert loser.code in (CapturePaymentErrorCode.INVALID_STATE, VoidPaymentErrorCode.INVALID_STATE)
    assert loser.code.name == "INVALID_STATE"
    assert winner.status in (IntentStatus.CAPTURED, IntentStatus.VOIDED)
    kind = "CAPTURE" if winner.status is IntentStatus.CAPTURED else "VOID"
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 500, "USD"), (kind, 500, "USD")]
