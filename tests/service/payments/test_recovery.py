"""A failure between "attempt recorded" and "outcome recorded", then a retry or a sweep: one charge
at the provider, one ledger row, the intent consistent with both."""

from __future__ import annotations

import pytest

from mercato.payments import (
    AuthorizePayment,
    AuthorizePaymentErrorCode,
    CapturePayment,
    CapturePaymentErrorCode,
    IntentStatus,
    OperationStatus,
    RefundPayment,
    RefundPaymentErrorCode,
    ResolvePendingOperations,
    ResolveReport,
    VoidPayment,
    VoidPaymentErrorCode,
)
from mercato.payments.bootstrap import PaymentsService
from mercato.payments.service_layer import handlers
from mercato.payments.service_layer.operations import Drive
from mercato.platform.db import Database
from mercato.platform.errors import Conflict, Unavailable
from tests.conftest import ref
from tests.service.payments.conftest import (
    LEASE,
    MAX_ATTEMPTS,
    SpyProvider,
    charges,
    charges_for_order,
    drain_pending,
    execute,
    ledger,
    operations,
    usd,
)


def auth(order: str, key: str, token: str = "tok_success") -> AuthorizePayment:
    return AuthorizePayment(
        order_reference=order, amount=usd(2_000), payment_token=token, idempotency_key=key
    )


async def record_attempt_only(service: PaymentsService, command: AuthorizePayment) -> Drive:
    """Transaction 1 of an authorization, as a process that dies right after it would leave it."""
    begin = handlers._begin_authorize(command, "sandbox", LEASE)
    async with service.unit_of_work() as uow:
        step = await begin(uow, False)
        await uow.commit()
    assert isinstance(step, Drive)
    return step


async def lease_runs_out(db: Database, drive: Drive) -> None:
    """What the passing of `LEASE` seconds does to a dead process's lease."""
    await execute(
        db, "UPDATE payments.payment_operations SET lease_until = now() WHERE id = :id", id=drive.operation.id
    )


async def test_crash_after_the_charge_then_a_retry_charges_once(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order, key = ref("order"), ref("k")
    provider.crash_after.add("authorize")
    with pytest.raises(Unavailable) as caught:
        await service.handle(auth(order, key))
    assert caught.value.code is AuthorizePaymentErrorCode.PROVIDER_ERROR
    [pending] = await service.queries.intents_for_order(order)
    assert await operations(db, pending.id) == [("AUTHORIZE", "PENDING", None, 1)]
    assert await charges_for_order(db, provider, order) == [("AUTHORIZED", 2_000)]

    intent = await service.handle(auth(order, key))
    assert (intent.id, intent.status) == (pending.id, IntentStatus.AUTHORIZED)
    assert await charges_for_order(db, provider, order) == [("AUTHORIZED", 2_000)]
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 2_000, "USD")]
    assert await operations(db, intent.id) == [("AUTHORIZE", "SUCCEEDED", None, 2)]
    assert provider.calls["authorize"] == 2


async def test_process_dies_after_the_charge_and_a_retry_takes_over_its_lease(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order, key = ref("order"), ref("k")
    command = auth(order, key)
    step = await record_attempt_only(service, command)
    await provider.authorize("tok_success", usd(2_000), step.operation.reference)  # then the process dies
    # The retry waits for the dead process's lease to run out (LEASE seconds), then finishes.
    intent = await service.handle(command)
    assert (intent.id, intent.status) == (step.intent.id, IntentStatus.AUTHORIZED)
    assert await charges_for_order(db, provider, order) == [("AUTHORIZED", 2_000)]
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 2_000, "USD")]
    assert await operations(db, intent.id) == [("AUTHORIZE", "SUCCEEDED", None, 2)]
    assert await service.handle(command) == intent
    assert provider.calls["authorize"] == 2


async def test_process_dies_before_calling_the_provider_and_the_sweeper_finishes(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    await drain_pending(service, MAX_ATTEMPTS)
    order = ref("order")
    step = await record_attempt_only(service, auth(order, ref("k")))
    assert await charges_for_order(db, provider, order) == []
    sweep = ResolvePendingOperations(max_attempts=MAX_ATTEMPTS)
    assert await service.handle(sweep) == ResolveReport(claimed=0, resolved=0, still_pending=0)  # leased
    await lease_runs_out(db, step)
    assert await service.handle(sweep) == ResolveReport(claimed=1, resolved=1, still_pending=0)
    intent = await service.queries.intent(step.intent.id)
    assert intent is not None and intent.status is IntentStatus.AUTHORIZED
    assert await charges_for_order(db, provider, order) == [("AUTHORIZED", 2_000)]
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 2_000, "USD")]


async def test_timeout_leaves_the_operation_pending_and_the_sweeper_resolves_it(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    await drain_pending(service, MAX_ATTEMPTS)
    calls_before = provider.calls["authorize"]
    order, key = ref("order"), ref("k")
    with pytest.raises(Unavailable) as caught:
        await service.handle(auth(order, key, "tok_timeout"))
    assert caught.value.code is AuthorizePaymentErrorCode.PROVIDER_TIMEOUT
    [pending] = await service.queries.intents_for_order(order)
    [operation] = await service.queries.operations(pending.id)
    assert (operation.status, operation.leased) == (OperationStatus.PENDING, False)

    report = await service.handle(ResolvePendingOperations(max_attempts=MAX_ATTEMPTS))
    assert report == ResolveReport(claimed=1, resolved=1, still_pending=0)
    intent = await service.queries.intent(pending.id)
    assert intent is not None and intent.status is IntentStatus.AUTHORIZED
    assert await charges_for_order(db, provider, order) == [("AUTHORIZED", 2_000)]
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 2_000, "USD")]
    # The caller's retry now answers the recorded outcome without asking the provider.
    assert await service.handle(auth(order, key, "tok_timeout")) == intent
    assert provider.calls["authorize"] - calls_before == 2


async def test_sweeper_leaves_an_operation_after_max_attempts(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    await drain_pending(service, MAX_ATTEMPTS)
    order = ref("order")
    with pytest.raises(Unavailable):
        await service.handle(auth(order, ref("k"), "tok_provider_error"))
    sweep = ResolvePendingOperations(max_attempts=MAX_ATTEMPTS)
    assert await service.handle(sweep) == ResolveReport(claimed=1, resolved=0, still_pending=1)
    assert await service.handle(sweep) == ResolveReport(claimed=1, resolved=0, still_pending=1)
    assert await service.handle(sweep) == ResolveReport(claimed=0, resolved=0, still_pending=0)
    [intent] = await service.queries.intents_for_order(order)
    assert await operations(db, intent.id) == [("AUTHORIZE", "PENDING", None, MAX_ATTEMPTS)]
    assert intent.id in {o.intent_id for o in await service.queries.pending_operations(limit=1_000)}


@pytest.mark.parametrize("method", ["capture", "void", "refund"])
async def test_crash_after_the_provider_moved_money_then_a_retry_moves_it_once(
    service: PaymentsService, db: Database, provider: SpyProvider, method: str
) -> None:
    intent = await service.handle(auth(ref("order"), ref("k")))
    if method == "refund":
        await service.handle(CapturePayment(intent_id=intent.id, idempotency_key=ref("k")))
    key = ref("k")
    command: CapturePayment | VoidPayment | RefundPayment
    if method == "capture":
        command = CapturePayment(intent_id=intent.id, idempotency_key=key)
    elif method == "void":
        command = VoidPayment(intent_id=intent.id, idempotency_key=key)
    else:
        command = RefundPayment(intent_id=intent.id, amount=usd(500), idempotency_key=key, reason="x")
    provider.crash_after.add(method)
    with pytest.raises(Unavailable) as caught:
        await service.handle(command)
    assert (
        caught.value.code
        is {
            "capture": CapturePaymentErrorCode.PROVIDER_ERROR,
            "void": VoidPaymentErrorCode.PROVIDER_ERROR,
            "refund": RefundPaymentErrorCode.PROVIDER_ERROR,
        }[method]
    )
    entries_before = await ledger(db, intent.id)

    after = await service.handle(command)
    expected = {
        "capture": (IntentStatus.CAPTURED, ("CAPTURE", 2_000, "USD"), ("CAPTURED", 2_000, 2_000, 0)),
        "void": (IntentStatus.VOIDED, ("VOID", 2_000, "USD"), ("VOIDED", 2_000, 0, 0)),
        "refund": (
            IntentStatus.PARTIALLY_REFUNDED,
            ("REFUND", 500, "USD"),
            ("PARTIALLY_REFUNDED", 2_000, 2_000, 500),
        ),
    }[method]
    assert after.status is expected[0]
    assert await ledger(db, intent.id) == [*entries_before, expected[1]]
    assert charges(provider, intent.provider_reference) == [expected[2]]
    assert provider.calls[method] == 2
    assert await service.handle(command) == after
    assert provider.calls[method] == 2


async def test_an_operation_left_pending_is_finished_before_the_next_one_on_the_intent(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    authorized = await service.handle(auth(ref("order"), ref("k")))
    provider.hang_after.add("capture")
    with pytest.raises(Unavailable) as caught:
        await service.handle(CapturePayment(intent_id=authorized.id, idempotency_key=ref("k")))
    assert caught.value.code is CapturePaymentErrorCode.PROVIDER_TIMEOUT
    assert (await service.queries.intent(authorized.id)) == authorized  # still AUTHORIZED here
    # A void now must not release money the provider already captured: the capture is finished
    # first (asked again, the provider says it was captured), and the void is then refused.
    with pytest.raises(Conflict) as void:
        await service.handle(VoidPayment(intent_id=authorized.id, idempotency_key=ref("k")))
    assert void.value.code is VoidPaymentErrorCode.INVALID_STATE
    intent = await service.queries.intent(authorized.id)
    assert intent is not None and intent.status is IntentStatus.CAPTURED
    assert await ledger(db, authorized.id) == [("AUTHORIZATION", 2_000, "USD"), ("CAPTURE", 2_000, "USD")]
    assert await operations(db, authorized.id) == [
        ("AUTHORIZE", "SUCCEEDED", None, 1),
        ("CAPTURE", "SUCCEEDED", None, 2),
    ]
    assert (provider.calls["capture"], provider.calls["void"]) == (2, 0)
    assert charges(provider, authorized.provider_reference) == [("CAPTURED", 2_000, 2_000, 0)]
