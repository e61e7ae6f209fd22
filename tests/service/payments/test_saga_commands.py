"""The saga's payment commands on an event consumer's unit of work, alone and in a batch: the
outcome commits with the consumer's transaction, a rolled back batch leaves nothing held, and no
command of a batch ever waits for a lock the batch itself (or another batch) holds."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from mercato.payments import AuthorizePayment, IntentStatus, OperationStatus, PaymentIntent
from mercato.payments.bootstrap import PaymentsService
from mercato.payments.domain.rules import LockBusy
from mercato.payments.entrypoints.saga_commands import (
    AUTHORIZE_PAYMENT_REQUESTED,
    CAPTURE_PAYMENT_REQUESTED,
    REFUND_PAYMENT_REQUESTED,
    VOID_PAYMENT_REQUESTED,
    saga_subscription,
)
from mercato.platform.db import Database
from mercato.platform.events import Envelope
from tests.conftest import ref
from tests.service.payments.conftest import (
    SpyProvider,
    charges,
    events,
    handle,
    ledger,
    message,
    operations,
    usd,
)

LOCK = text("SELECT id FROM payments.payment_intents WHERE id = :id FOR UPDATE")
LEASE_IS_NOT_AWAITED = 0.8  # below the tests' 1 s lease: a retry must not wait for a lease


def authorize_message(order: str, key: str, amount: int = 4_000) -> Envelope:
    return message(
        AUTHORIZE_PAYMENT_REQUESTED,
        order_id=order,
        amount=amount,
        currency="USD",
        payment_token="tok_success",
        idempotency_key=key,
    )


def on_intent(kind: str, intent: PaymentIntent, key: str, **extra: Any) -> Envelope:
    return message(
        kind, order_id=intent.order_reference, intent_id=str(intent.id), idempotency_key=key, **extra
    )


async def authorized(service: PaymentsService, amount: int = 4_000) -> PaymentIntent:
    return await service.handle(
        AuthorizePayment(
            order_reference=str(uuid.uuid4()),
            amount=usd(amount),
            payment_token="tok_success",
            idempotency_key=ref("k"),
        )
    )


async def test_the_outcome_commits_with_the_consumers_unit_of_work(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order, key = str(uuid.uuid4()), ref("k")
    handlers = saga_subscription(service).handlers
    async with service.unit_of_work() as uow:
        with db.count_statements() as handled:
            await handlers[AUTHORIZE_PAYMENT_REQUESTED](authorize_message(order, key), uow)
        # Before the consumer commits: the PENDING operation is committed, its outcome is not.
        [pending] = await service.queries.intents_for_order(order)
        assert pending.status is IntentStatus.REQUIRES_AUTHORIZATION
        assert await operations(db, pending.id) == [("AUTHORIZE", "PENDING", None, 1)]
        assert await ledger(db, pending.id) == []
        with db.count_statements() as committed:
            await uow.commit()
    # tx 1 (one statement) | provider | the consumer's transaction: the outcome, locking the intent,
    # with its outbox row; the commit then adds no statement.
    assert (handled.count, handled.commits) == (2, 1), handled.statements
    assert (committed.count, committed.commits) == (0, 1), committed.statements
    [intent] = await service.queries.intents_for_order(order)
    assert intent.status is IntentStatus.AUTHORIZED
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 4_000, "USD")]
    assert [e.type for e in await events(db, intent.id)] == ["payments.payment_authorized"]

    with db.count_statements() as capture:
        await handle(service, on_intent(CAPTURE_PAYMENT_REQUESTED, intent, ref("k")))
    # tx 1: lock the intent with its operations, insert the operation | the consumer's: as above.
    assert (capture.count, capture.commits) == (3, 2), capture.statements
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 4_000, "USD"), ("CAPTURE", 4_000, "USD")]
    assert provider.calls == {"authorize": 1, "capture": 1}


async def test_an_outcome_rolled_back_with_its_batch_is_driven_again_at_once(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order, key = str(uuid.uuid4()), ref("k")
    command = authorize_message(order, key)
    handlers = saga_subscription(service).handlers
    async with service.unit_of_work() as uow:
        await handlers[AUTHORIZE_PAYMENT_REQUESTED](command, uow)
        # another message of the batch fails: the consumer leaves without committing
    [pending] = await service.queries.intents_for_order(order)
    [operation] = await service.queries.operations(pending.id)
    assert (pending.status, operation.status, operation.leased) == (
        IntentStatus.REQUIRES_AUTHORIZATION,
        OperationStatus.PENDING,
        False,  # its lease was freed as the batch rolled back
    )
    assert await ledger(db, pending.id) == []

    async with asyncio.timeout(LEASE_IS_NOT_AWAITED):
        await handle(service, command)  # the consumer's retry, alone
    [intent] = await service.queries.intents_for_order(order)
    assert (intent.id, intent.status) == (pending.id, IntentStatus.AUTHORIZED)
    assert await operations(db, intent.id) == [("AUTHORIZE", "SUCCEEDED", None, 2)]
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 4_000, "USD")]
    # Asked twice under one reference: one charge.
    assert provider.calls["authorize"] == 2
    assert charges(provider, intent.provider_reference) == [("AUTHORIZED", 4_000, 0, 0)]


async def test_a_duplicate_command_in_one_batch_is_answered_from_the_batch(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    order, key = str(uuid.uuid4()), ref("k")
    async with asyncio.timeout(5):
        # The saga re-sent its command after a timeout: two messages, one key, one batch.
        await handle(service, authorize_message(order, key), authorize_message(order, key))
    [intent] = await service.queries.intents_for_order(order)
    assert intent.status is IntentStatus.AUTHORIZED
    assert provider.calls == {"authorize": 1}
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 4_000, "USD")]
    assert [e.type for e in await events(db, intent.id)] == ["payments.payment_authorized"]


async def test_a_void_after_the_capture_in_one_batch_is_refused_on_the_batch(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    intent = await authorized(service)
    async with asyncio.timeout(5):  # the void's intent is locked by the batch: it must not wait
        await handle(
            service,
            on_intent(CAPTURE_PAYMENT_REQUESTED, intent, ref("k")),
            on_intent(VOID_PAYMENT_REQUESTED, intent, ref("k")),
        )
    after = await service.queries.intent(intent.id)
    assert after is not None and after.status is IntentStatus.CAPTURED
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 4_000, "USD"), ("CAPTURE", 4_000, "USD")]
    assert [op[:2] for op in await operations(db, intent.id)] == [
        ("AUTHORIZE", "SUCCEEDED"),
        ("CAPTURE", "SUCCEEDED"),
    ]
    assert (provider.calls["capture"], provider.calls["void"]) == (1, 0)


async def test_a_command_needing_the_provider_on_an_intent_the_batch_holds_fails_the_batch(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    intent = await authorized(service)
    capture = on_intent(CAPTURE_PAYMENT_REQUESTED, intent, ref("k"))
    refund = on_intent(REFUND_PAYMENT_REQUESTED, intent, ref("k"), amount=4_000, currency="USD", reason="x")
    async with asyncio.timeout(5):
        with pytest.raises(LockBusy):
            await handle(service, capture, refund)
    # Nothing of the batch stayed: no capture, no refund operation, the capture's lease freed.
    assert await service.queries.intent(intent.id) == intent
    assert await ledger(db, intent.id) == [("AUTHORIZATION", 4_000, "USD")]
    [_, pending] = await service.queries.operations(intent.id)
    assert (pending.kind.value, pending.status, pending.leased) == ("CAPTURE", OperationStatus.PENDING, False)

    async with asyncio.timeout(LEASE_IS_NOT_AWAITED):  # the consumer's retry, one message at a time
        await handle(service, capture)
        await handle(service, refund)
    after = await service.queries.intent(intent.id)
    assert after is not None and after.status is IntentStatus.REFUNDED
    assert await ledger(db, intent.id) == [
        ("AUTHORIZATION", 4_000, "USD"),
        ("CAPTURE", 4_000, "USD"),
        ("REFUND", 4_000, "USD"),
    ]
    assert (provider.calls["capture"], provider.calls["refund"]) == (2, 1)
    assert charges(provider, intent.provider_reference) == [("REFUNDED", 4_000, 4_000, 4_000)]


async def test_a_batch_holding_locks_never_waits_for_an_intent_locked_elsewhere(
    service: PaymentsService, db: Database, provider: SpyProvider
) -> None:
    mine, theirs = await authorized(service), await authorized(service)
    capture_theirs = on_intent(CAPTURE_PAYMENT_REQUESTED, theirs, ref("k"))
    async with db.begin() as other:  # another consumer's batch, holding `theirs`
        await other.execute(LOCK, {"id": theirs.id})
        async with asyncio.timeout(5):
            with pytest.raises(LockBusy):
                await handle(service, on_intent(CAPTURE_PAYMENT_REQUESTED, mine, ref("k")), capture_theirs)
        # Alone, a command holds nothing of its own and may wait for the lock.
        alone = asyncio.create_task(handle(service, capture_theirs))
        await asyncio.sleep(0.3)
        assert not alone.done()
    await asyncio.wait_for(alone, 5)
    after = await service.queries.intent(theirs.id)
    assert after is not None and after.status is IntentStatus.CAPTURED
    assert await ledger(db, theirs.id) == [("AUTHORIZATION", 4_000, "USD"), ("CAPTURE", 4_000, "USD")]
    assert await ledger(db, mine.id) == [("AUTHORIZATION", 4_000, "USD")]  # rolled back with the batch
    assert provider.calls["capture"] == 2  # mine, then theirs (asked once: NOWAIT refused first)
