"""The saga's payment step as one command: authorize, then capture all of it. Two transactions
when all goes well (the authorization PENDING, planning its capture; both outcomes in one
statement), one reply (`payment_captured`), and every failure answered the way the saga
compensates it: a decline, a capture refused after the authorization (naming the intent to void),
a crash at any point (a redelivery or the sweeper finishes, one charge, one capture)."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace

import pytest

from mercato.payments import (
    DeclineCode,
    IntentStatus,
    ProviderResult,
    ResolvePendingOperations,
)
from mercato.payments.adapters.rows import intent_snapshot
from mercato.payments.adapters.sandbox import charge_id
from mercato.payments.bootstrap import PaymentsService, payments_outbox
from mercato.payments.domain.model import OperationKind
from mercato.payments.domain.operations import OperationStatus
from mercato.payments.entrypoints.saga_commands import AUTHORIZE_AND_CAPTURE_PAYMENT_REQUESTED
from mercato.payments.service_layer.operations import RunnerSettings
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.errors import Unavailable
from mercato.platform.events import Envelope
from mercato.platform.types import Money
from tests.service.payments.conftest import (
    MAX_ATTEMPTS,
    PROVIDER_TIMEOUT,
    FakeClock,
    SpyProvider,
    charges,
    charges_for_order,
    drain_pending,
    events,
    execute,
    handle,
    ledger,
    message,
    operations,
    rows,
)


def charge(order: str, token: str = "tok_success", amount: int = 2_500) -> Envelope:
    return message(
        AUTHORIZE_AND_CAPTURE_PAYMENT_REQUESTED,
        order_id=order,
        amount=amount,
        currency="USD",
        payment_token=token,
        idempotency_key=f"order:{order}:authorize",
        capture_idempotency_key=f"order:{order}:capture",
    )


async def test_one_command_authorizes_and_captures_in_two_transactions(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order = str(uuid.uuid4())
    with db.count_statements() as counted:
        await handle(service, charge(order))
    # The authorization PENDING with its planned capture (1) | provider authorize, capture | in the
    # consumer's transaction: both outcomes, locking the intent, with the reply's outbox row (1).
    assert (counted.count, counted.commits) == (2, 2), counted.statements
    [intent] = await service.queries.intents_for_order(order)
    assert (intent.status, intent.captured_amount) == (IntentStatus.CAPTURED, Money(2_500, "USD"))
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 2_500, "USD"), ("CAPTURE", 2_500, "USD")]
    assert await operations(db, intent.id) == [
        ("AUTHORIZE", "SUCCEEDED", None, 1),
        ("CAPTURE", "SUCCEEDED", None, 1),
    ]
    # One reply: the capture's. The authorization's event is left out, the saga waits for the capture.
    [captured] = await events(db, intent.id)
    assert (captured.type, captured.payload["captured_total"]) == ("payments.payment_captured", 2_500)
    assert provider.calls == {"authorize": 1, "capture": 1}
    assert charges(provider, intent.provider_reference) == [("CAPTURED", 2_500, 2_500, 0)]


async def test_a_repeated_command_answers_from_the_records(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order = str(uuid.uuid4())
    await handle(service, charge(order))
    with db.count_statements() as counted:
        await handle(service, charge(order))  # the saga re-sent it after a timeout
    # The authorization's key taken, its outcome read; the intent locked with its operations. The
    # one commit is the consumer's (its inbox row): nothing of payments'.
    assert (counted.count, counted.commits) == (3, 1), counted.statements
    [intent] = await service.queries.intents_for_order(order)
    assert [e.type for e in await events(db, intent.id)] == ["payments.payment_captured"]
    assert provider.calls == {"authorize": 1, "capture": 1}


async def test_a_declined_card_answers_payment_declined_and_captures_nothing(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order = str(uuid.uuid4())
    with db.count_statements() as counted:
        await handle(service, charge(order, "tok_insufficient_funds"))
    # The authorization PENDING | provider | the decline (one statement locking the intent, with its
    # event's outbox row) in the consumer's transaction.
    assert (counted.count, counted.commits) == (2, 2), counted.statements
    [intent] = await service.queries.intents_for_order(order)
    assert (intent.status, intent.failure_code) == (IntentStatus.FAILED, "INSUFFICIENT_FUNDS")
    assert await operations(db, intent.id) == [("AUTHORIZE", "DECLINED", "INSUFFICIENT_FUNDS", 1)]
    [declined] = await events(db, intent.id)
    assert (declined.type, declined.payload["decline_code"]) == (
        "payments.payment_declined",
        "INSUFFICIENT_FUNDS",
    )
    assert await ledger(db, intent.id) == []
    assert provider.calls == {"authorize": 1}


class RefusingCaptures(SpyProvider):
    """The sandbox, whose captures the provider refuses (say, the card was blocked meanwhile)."""

    async def capture(self, charge: str, amount: Money, reference: str) -> ProviderResult:
        self.calls["capture"] += 1
        return ProviderResult.declined(DeclineCode.INVALID_CHARGE_STATE, "refused", f"cap_{reference}")


async def test_a_capture_refused_after_the_authorization_names_the_intent_to_void(
    db: Database, settings: Settings, provider: SpyProvider, runner_settings: RunnerSettings
) -> None:
    refusing = RefusingCaptures(provider.inner)
    service = PaymentsService(
        db, payments_outbox(settings.namespace), refusing, clock=FakeClock(), runner_settings=runner_settings
    )
    order = str(uuid.uuid4())
    await handle(service, charge(order))
    [intent] = await service.queries.intents_for_order(order)
    assert intent.status is IntentStatus.AUTHORIZED  # the money is held, not taken
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 2_500, "USD")]
    assert await operations(db, intent.id) == [
        ("AUTHORIZE", "SUCCEEDED", None, 1),
        ("CAPTURE", "DECLINED", "PROVIDER_REJECTED", 1),
    ]
    [failed] = await events(db, intent.id)
    assert failed.type == "payments.payment_operation_failed"
    assert failed.payload == {
        "order_reference": order,
        "intent_id": str(intent.id),
        "operation": "CAPTURE",
        "code": "PROVIDER_REJECTED",
        "message": "the payment provider refused: INVALID_CHARGE_STATE",
    }


async def test_a_crash_before_the_capture_is_recorded_is_finished_by_the_redelivery(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order = str(uuid.uuid4())
    provider.crash_after.add("capture")  # the provider captured; the answer is lost
    with pytest.raises(Unavailable):
        await handle(service, charge(order))
    [intent] = await service.queries.intents_for_order(order)
    # Nothing recorded but the PENDING authorization, which plans the capture.
    assert intent.status is IntentStatus.REQUIRES_AUTHORIZATION
    assert await operations(db, intent.id) == [("AUTHORIZE", "PENDING", None, 1)]
    assert await events(db, intent.id) == []

    await handle(service, charge(order))  # the consumer's retry of the message
    after = await service.queries.intent(intent.id)
    assert after is not None and after.status is IntentStatus.CAPTURED
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 2_500, "USD"), ("CAPTURE", 2_500, "USD")]
    assert await operations(db, intent.id) == [
        ("AUTHORIZE", "SUCCEEDED", None, 2),
        ("CAPTURE", "SUCCEEDED", None, 2),
    ]
    assert [e.type for e in await events(db, intent.id)] == ["payments.payment_captured"]
    # Both asked twice, each under one reference: one charge, captured once.
    assert provider.calls == {"authorize": 2, "capture": 2}
    assert charges(provider, after.provider_reference) == [("CAPTURED", 2_500, 2_500, 0)]
    assert await charges_for_order(db, provider, order) == [("CAPTURED", 2_500)]


async def test_a_crash_before_the_provider_is_asked_is_finished_by_the_redelivery_once_the_lease_ends(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order = str(uuid.uuid4())
    provider.hang_after.add("authorize")  # the provider authorized; the process dies in the call
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(handle(service, charge(order)), PROVIDER_TIMEOUT / 3)
    [intent] = await service.queries.intents_for_order(order)
    assert await operations(db, intent.id) == [("AUTHORIZE", "PENDING", None, 1)]  # still leased

    await handle(service, charge(order))  # redelivered: waits for the lease, then drives both
    after = await service.queries.intent(intent.id)
    assert after is not None and after.status is IntentStatus.CAPTURED
    assert await operations(db, intent.id) == [
        ("AUTHORIZE", "SUCCEEDED", None, 2),
        ("CAPTURE", "SUCCEEDED", None, 2),
    ]
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 2_500, "USD"), ("CAPTURE", 2_500, "USD")]
    assert [e.type for e in await events(db, intent.id)] == ["payments.payment_captured"]
    assert provider.calls == {"authorize": 2, "capture": 1}
    assert await charges_for_order(db, provider, order) == [("CAPTURED", 2_500)]


async def test_a_failure_between_the_two_provider_calls_leaves_only_the_authorization_pending(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order = str(uuid.uuid4())
    provider.crash_before.add("capture")  # authorized; the capture is never asked
    with pytest.raises(Unavailable):
        await handle(service, charge(order))
    [intent] = await service.queries.intents_for_order(order)
    assert await operations(db, intent.id) == [("AUTHORIZE", "PENDING", None, 1)]
    assert await ledger(db, intent.id) == []

    await handle(service, charge(order))
    after = await service.queries.intent(intent.id)
    assert after is not None and after.status is IntentStatus.CAPTURED
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 2_500, "USD"), ("CAPTURE", 2_500, "USD")]
    assert provider.calls == {"authorize": 2, "capture": 2}
    assert await charges_for_order(db, provider, order) == [("CAPTURED", 2_500)]


async def test_the_sweeper_finishes_the_authorization_and_its_planned_capture(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    await drain_pending(service, MAX_ATTEMPTS)
    order = str(uuid.uuid4())
    provider.crash_after.add("capture")
    with pytest.raises(Unavailable):
        await handle(service, charge(order))
    # The sweeper finds the authorization PENDING: it asks both again and records both, announcing
    # the capture (the saga's reply), so no capture is left to a redelivery that may never come.
    sweep = ResolvePendingOperations(max_attempts=MAX_ATTEMPTS)
    assert (await service.handle(sweep)).resolved == 1
    [intent] = await service.queries.intents_for_order(order)
    assert intent.status is IntentStatus.CAPTURED
    assert [e.type for e in await events(db, intent.id)] == ["payments.payment_captured"]

    with db.count_statements() as counted:
        await handle(service, charge(order))  # the redelivered command answers from the records
    assert (counted.count, counted.commits) == (3, 1), counted.statements
    assert [e.type for e in await events(db, intent.id)] == ["payments.payment_captured"]
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 2_500, "USD"), ("CAPTURE", 2_500, "USD")]
    assert provider.calls == {"authorize": 2, "capture": 2}
    assert await charges_for_order(db, provider, order) == [("CAPTURED", 2_500)]


async def test_a_capture_key_held_elsewhere_is_not_planned_and_is_refused_before_the_provider(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    await handle(service, charge(first))
    reused = message(
        AUTHORIZE_AND_CAPTURE_PAYMENT_REQUESTED,
        order_id=second,
        amount=2_500,
        currency="USD",
        payment_token="tok_success",
        idempotency_key=f"order:{second}:authorize",
        capture_idempotency_key=f"order:{first}:capture",  # the first order's capture key
    )
    await handle(service, reused)
    [intent] = await service.queries.intents_for_order(second)
    assert intent.status is IntentStatus.AUTHORIZED  # held, for the saga to void
    assert await operations(db, intent.id) == [("AUTHORIZE", "SUCCEEDED", None, 1)]
    # Recorded as a plain authorization (announced), then the capture refused by its key.
    authorized, failed = await events(db, intent.id)
    assert authorized.type == "payments.payment_authorized"
    assert (failed.type, failed.payload["operation"], failed.payload["code"]) == (
        "payments.payment_operation_failed",
        "CAPTURE",
        "IDEMPOTENCY_KEY_REUSED",
    )
    assert provider.calls == {"authorize": 2, "capture": 1}  # the first order's capture only


async def test_a_batch_of_charges_with_a_duplicate_never_waits_on_itself(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    async with asyncio.timeout(5):
        await handle(service, charge(first), charge(second), charge(first))
    for order in (first, second):
        [intent] = await service.queries.intents_for_order(order)
        assert intent.status is IntentStatus.CAPTURED
        assert [e.type for e in await events(db, intent.id)] == ["payments.payment_captured"]
        assert await ledger(db, intent.id) == [("AUTHORIZATION", 2_500, "USD"), ("CAPTURE", 2_500, "USD")]
    assert provider.calls == {"authorize": 2, "capture": 2}


async def test_an_authorization_recorded_without_its_planned_capture_captures_under_the_planned_id(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order = str(uuid.uuid4())
    provider.crash_after.add("capture")  # the provider captured; the answer is lost
    with pytest.raises(Unavailable):
        await handle(service, charge(order))
    [intent] = await service.queries.intents_for_order(order)
    [(authorization_id,)] = await rows(
        db, "SELECT id FROM payments.payment_operations WHERE intent_id = :id", id=intent.id
    )
    # A process of the version before the plan records the authorization alone (its sweeper, say).
    charged = charge_id(f"op_{authorization_id.hex}")
    after = replace(intent, status=IntentStatus.AUTHORIZED, provider_reference=charged, version=2)
    await execute(
        db,
        "UPDATE payments.payment_operations SET status = 'SUCCEEDED', result = CAST(:result AS jsonb), "
        "provider_reference = :charged, lease_token = NULL WHERE id = :id",
        result=json.dumps(intent_snapshot(after)),
        charged=charged,
        id=authorization_id,
    )
    await execute(
        db,
        "UPDATE payments.payment_intents SET status = 'AUTHORIZED', provider_reference = :charged, "
        "version = 2 WHERE id = :id",
        charged=charged,
        id=intent.id,
    )

    await handle(service, charge(order))  # the capture runs on its own, as the plan named it
    done = await service.queries.intent(intent.id)
    assert done is not None and done.status is IntentStatus.CAPTURED
    captures = "SELECT id FROM payments.payment_operations WHERE intent_id = :id AND operation = 'CAPTURE'"
    assert await rows(db, captures, id=intent.id) == [(uuid.uuid5(authorization_id, "capture"),)]
    # The same capture asked again (same reference): the provider answers the first, captured once.
    assert provider.calls == {"authorize": 1, "capture": 2}
    assert charges(provider, charged) == [("CAPTURED", 2_500, 2_500, 0)]


async def test_a_late_driver_finds_the_outcome_recorded_by_whoever_took_over_and_writes_nothing(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    await drain_pending(service, MAX_ATTEMPTS)
    order = str(uuid.uuid4())
    provider.crash_after.add("capture")
    with pytest.raises(Unavailable):
        await handle(service, charge(order))
    async with service.unit_of_work() as uow:  # what the first driver held: the PENDING authorization
        stale = await uow.store.operation_by_key(OperationKind.AUTHORIZE, f"order:{order}:authorize")
        assert stale is not None
        before = (await uow.store.intents([stale.intent_id]))[stale.intent_id]
    sweep = ResolvePendingOperations(max_attempts=MAX_ATTEMPTS)
    assert (await service.handle(sweep)).resolved == 1  # the sweeper took it over and recorded both

    # The first driver comes back late: its one-statement outcome finds the intent moved, so it
    # locks the intent, reads the recorded outcome and answers it.
    with db.count_statements() as counted:
        answered = await service.runner.drive(stale, before)
    assert (answered.status, counted.count) == (OperationStatus.SUCCEEDED, 3), counted.statements
    assert await operations(db, before.id) == [
        ("AUTHORIZE", "SUCCEEDED", None, 2),
        ("CAPTURE", "SUCCEEDED", None, 2),
    ]
    assert await ledger(db, before.id) == [("AUTHORIZATION", 2_500, "USD"), ("CAPTURE", 2_500, "USD")]
    assert [e.type for e in await events(db, before.id)] == ["payments.payment_captured"]
    assert await charges_for_order(db, provider, order) == [("CAPTURED", 2_500)]
