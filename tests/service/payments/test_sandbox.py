"""Each sandbox token's outcome through the service, and the sandbox's refusals and idempotency."""

from __future__ import annotations

import pytest

from mercato.payments import (
    AuthorizePayment,
    AuthorizePaymentErrorCode,
    CapturePayment,
    CapturePaymentErrorCode,
    DeclineCode,
    IntentStatus,
    OperationStatus,
    PaymentDeclined,
    ProviderResult,
)
from mercato.payments.adapters.sandbox import SandboxProvider
from mercato.payments.bootstrap import PaymentsService, payments_outbox
from mercato.payments.service_layer.operations import RunnerSettings
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.errors import Conflict, Unavailable
from tests.conftest import ref
from tests.service.payments.conftest import (
    FakeClock,
    SpyProvider,
    charges_for_order,
    events,
    ledger,
    operations,
    usd,
)


def authorize(order: str, token: str, key: str | None = None, amount: int = 1_500) -> AuthorizePayment:
    return AuthorizePayment(
        order_reference=order, amount=usd(amount), payment_token=token, idempotency_key=key or ref("k")
    )


@pytest.mark.parametrize("token", ["tok_success", "tok_ok_visa", "tok_ok"])
async def test_success_tokens_authorize(
    service: PaymentsService, db: Database, provider: SpyProvider, token: str
) -> None:
    order = ref("order")
    intent = await service.handle(authorize(order, token))
    assert intent.status is IntentStatus.AUTHORIZED
    assert await charges_for_order(db, provider, order) == [("AUTHORIZED", 1_500)]
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 1_500, "USD")]
    assert [e.type for e in await events(db, intent.id)] == ["payments.payment_authorized"]


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("tok_decline", AuthorizePaymentErrorCode.PAYMENT_DECLINED),
        ("tok_insufficient_funds", AuthorizePaymentErrorCode.INSUFFICIENT_FUNDS),
        ("tok_unknown_card", AuthorizePaymentErrorCode.PAYMENT_DECLINED),
    ],
)
async def test_declining_tokens_fail_the_intent_after_committing_it(
    service: PaymentsService,
    db: Database,
    provider: SpyProvider,
    token: str,
    code: AuthorizePaymentErrorCode,
) -> None:
    order = ref("order")
    with pytest.raises(PaymentDeclined) as caught:
        await service.handle(authorize(order, token))
    assert caught.value.code is code
    [intent] = await service.queries.intents_for_order(order)
    assert caught.value.intent_id == intent.id
    assert (intent.status, intent.failure_code, intent.version) == (IntentStatus.FAILED, code.value, 2)
    assert await ledger(db, intent.id) == []
    assert await operations(db, intent.id) == [("AUTHORIZE", "DECLINED", code.value, 1)]
    [declined] = await events(db, intent.id)
    assert (declined.type, declined.payload["decline_code"], declined.payload["amount"]) == (
        "payments.payment_declined",
        code.value,
        1_500,
    )
    assert await charges_for_order(db, provider, order) == [("DECLINED", 1_500)]


async def test_provider_error_is_unavailable_and_leaves_the_operation_pending(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order = ref("order")
    key = ref("k")
    with pytest.raises(Unavailable) as caught:
        await service.handle(authorize(order, "tok_provider_error", key))
    assert caught.value.code is AuthorizePaymentErrorCode.PROVIDER_ERROR
    [intent] = await service.queries.intents_for_order(order)
    assert intent.status is IntentStatus.REQUIRES_AUTHORIZATION
    [operation] = await service.queries.operations(intent.id)
    # Lease released at once: a retry with the same key drives it again without waiting.
    assert (operation.status, operation.attempts, operation.leased) == (OperationStatus.PENDING, 1, False)
    assert await charges_for_order(db, provider, order) == []
    with pytest.raises(Unavailable) as again:
        await service.handle(authorize(order, "tok_provider_error", key))
    assert again.value.code is AuthorizePaymentErrorCode.PROVIDER_ERROR
    assert provider.calls["authorize"] == 2
    assert await operations(db, intent.id) == [("AUTHORIZE", "PENDING", None, 2)]
    assert await ledger(db, intent.id) == []


async def test_timeout_is_unavailable_the_charge_exists_and_a_retry_resolves_it(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order = ref("order")
    key = ref("k")
    with pytest.raises(Unavailable) as caught:
        await service.handle(authorize(order, "tok_timeout", key))
    assert caught.value.code is AuthorizePaymentErrorCode.PROVIDER_TIMEOUT
    [pending] = await service.queries.intents_for_order(order)
    assert pending.status is IntentStatus.REQUIRES_AUTHORIZATION
    assert await operations(db, pending.id) == [("AUTHORIZE", "PENDING", None, 1)]
    # The provider made the charge; only its answer was lost.
    assert await charges_for_order(db, provider, order) == [("AUTHORIZED", 1_500)]
    assert await ledger(db, pending.id) == []

    resolved = await service.handle(authorize(order, "tok_timeout", key))
    assert (resolved.id, resolved.status) == (pending.id, IntentStatus.AUTHORIZED)
    assert await charges_for_order(db, provider, order) == [("AUTHORIZED", 1_500)]
    assert await ledger(db, pending.id) == [("AUTHORIZATION", 1_500, "USD")]
    assert await operations(db, pending.id) == [("AUTHORIZE", "SUCCEEDED", None, 2)]
    assert provider.calls["authorize"] == 2


async def test_latency_beyond_the_timeout_is_a_timeout(
    db: Database, settings: Settings, runner_settings: RunnerSettings
) -> None:
    slow = SandboxProvider(latency_ms=int(runner_settings.provider_timeout_seconds * 1000) + 500)
    service = PaymentsService(
        db, payments_outbox(settings.namespace), slow, clock=FakeClock(), runner_settings=runner_settings
    )
    order = ref("order")
    with pytest.raises(Unavailable) as caught:
        await service.handle(authorize(order, "tok_success"))
    assert caught.value.code is AuthorizePaymentErrorCode.PROVIDER_TIMEOUT
    assert await charges_for_order(db, slow, order) == []


async def test_sandbox_refuses_what_a_real_provider_would(db: Database) -> None:
    sandbox = SandboxProvider()
    charge = (await sandbox.authorize("tok_success", usd(1_000), ref("r"))).provider_reference
    unknown = await sandbox.capture("ch_nope", usd(1_000), ref("r"))
    assert (unknown.approved, unknown.decline_code) == (False, DeclineCode.UNKNOWN_CHARGE)
    early_refund = await sandbox.refund(charge, usd(1), ref("r"))
    assert early_refund.decline_code is DeclineCode.INVALID_CHARGE_STATE
    too_much = await sandbox.capture(charge, usd(1_001), ref("r"))
    assert too_much.decline_code is DeclineCode.AMOUNT_EXCEEDED
    assert (await sandbox.void(charge, ref("r"))).approved is True
    after_void = await sandbox.capture(charge, usd(1_000), ref("r"))
    assert (after_void.approved, after_void.decline_code) == (False, DeclineCode.INVALID_CHARGE_STATE)

    declined = await sandbox.authorize("tok_decline", usd(1_000), ref("r"))
    refused = await sandbox.capture(declined.provider_reference, usd(1_000), ref("r"))
    assert refused.decline_code is DeclineCode.INVALID_CHARGE_STATE


async def test_sandbox_is_idempotent_on_its_reference(db: Database) -> None:
    sandbox = SandboxProvider()
    reference = ref("r")
    first = await sandbox.authorize("tok_success", usd(700), reference)
    assert await sandbox.authorize("tok_success", usd(700), reference) == first
    reused = await sandbox.authorize("tok_success", usd(701), reference)
    assert reused.decline_code is DeclineCode.REFERENCE_REUSED

    capture_ref = ref("r")
    captured = await sandbox.capture(first.provider_reference, usd(700), capture_ref)
    assert captured.approved and captured.provider_reference.startswith("cap_")
    assert await sandbox.capture(first.provider_reference, usd(700), capture_ref) == captured
    refund_ref = ref("r")
    refunded = await sandbox.refund(first.provider_reference, usd(300), refund_ref)
    assert await sandbox.refund(first.provider_reference, usd(300), refund_ref) == refunded
    assert (await sandbox.refund(first.provider_reference, usd(301), refund_ref)).decline_code is (
        DeclineCode.REFERENCE_REUSED
    )
    over = await sandbox.refund(first.provider_reference, usd(401), ref("r"))
    assert over == ProviderResult.declined(
        DeclineCode.AMOUNT_EXCEEDED, "sandbox: refund refused", over.provider_reference
    )


async def test_a_capture_the_provider_refuses_is_provider_rejected_and_changes_nothing(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    intent = await service.handle(authorize(ref("order"), "tok_success"))
    assert intent.provider_reference is not None
    # The charge was voided at the provider behind our back (say, from its dashboard).
    await provider.inner.void(intent.provider_reference, ref("r"))
    key = ref("k")
    with pytest.raises(Conflict) as caught:
        await service.handle(CapturePayment(intent_id=intent.id, idempotency_key=key))
    assert caught.value.code is CapturePaymentErrorCode.PROVIDER_REJECTED
    assert await service.queries.intent(intent.id) == intent
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 1_500, "USD")]
    assert await operations(db, intent.id) == [
        ("AUTHORIZE", "SUCCEEDED", None, 1),
        ("CAPTURE", "DECLINED", "PROVIDER_REJECTED", 1),
    ]
    [_, capture] = await service.queries.operations(intent.id)
    assert capture.decline_code == DeclineCode.INVALID_CHARGE_STATE.value
    with pytest.raises(Conflict) as replay:
        await service.handle(CapturePayment(intent_id=intent.id, idempotency_key=key))
    assert replay.value.code is CapturePaymentErrorCode.PROVIDER_REJECTED
    assert provider.calls["capture"] == 1
