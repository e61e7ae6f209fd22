"""Running one payment operation: record it, call the provider, record the outcome.

    tx 1   lock the intent, check the transition, INSERT the operation PENDING with a lease; commit
    ---    call the provider, no transaction of ours open on its behalf, with `operation.reference`
           and a timeout
    tx 2   lock the intent, then one statement marks the operation SUCCEEDED/DECLINED (only if
           still PENDING), updates the intent and writes the ledger entry; the event goes to the
           outbox; commit

An authorization may plan its capture (`capture_key`): whoever drives it asks for the capture
right after an approval, under its lease, with a reference derived from it; tx 2 records both.

A crash or a timeout between the two leaves the operation PENDING. Whoever comes next with the
same idempotency key (or the `ResolvePendingOperations` sweeper) claims it once its lease has run
out and calls the provider again with the same reference; the provider answers the first call's
outcome, so the customer is charged once and the ledger gets one row (`operation_id` is UNIQUE).
Requests that find the operation leased by someone else (a concurrent retry, another operation
on the same intent) wait for it, polling, up to the lease; only one operation per intent is ever
in flight (a partial UNIQUE index), so operations on one payment are serialized.

Transaction 2 may be a caller's (`outcome`): an event consumer's, so that the inbox row commits
with the outcome, shared by a batch of messages that commits once. Transaction 1 must still
commit before the provider is asked (a crash must leave the PENDING operation for a retry or the
sweeper), so it runs on a connection of its own while the caller's transaction is open, and must
never wait for what that transaction holds:
  * an intent or key the caller's transaction holds (an earlier message of the batch wrote its
    outcome) is decided on that transaction itself: a replay or a refusal is answered there, and
    anything that needs the provider raises `LockBusy`;
  * once the caller's transaction holds any intent, transaction 1 locks the intent with NOWAIT and
    never waits for or claims a lease (`LockBusy` again): another consumer's batch may hold it
    while waiting for ours.
`LockBusy` fails the batch; the consumer retries its messages one by one, each in a transaction
that holds nothing, where waiting is safe. The leases of the outcomes the failed batch wrote are
freed as it rolls back (`PaymentsUnitOfWork`), so the retries drive them again at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from mercato.payments.domain.breaker import CircuitBreaker
from mercato.payments.domain.model import OperationKind, PaymentIntent
from mercato.payments.domain.operations import (
    OperationStatus,
    Outcome,
    PaymentOperation,
    answer_of,
    decline_of,
    finished_as,
)
from mercato.payments.domain.provider import (
    PaymentProvider,
    ProviderError,
    ProviderPaused,
    ProviderResult,
    ProviderTimeout,
    ProviderUnavailable,
)
from mercato.payments.domain.rules import LockBusy, OperationInProgress
from mercato.payments.service_layer.unit_of_work import PaymentsUnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Drive:
    """This request holds the lease of `operation`: call the provider and record the outcome.
    `own` is False when it is another operation on the intent, left stale, that must end first."""

    operation: PaymentOperation
    intent: PaymentIntent
    own: bool = True


@dataclass(frozen=True)
class Done:
    """The operation already has its outcome: replay it."""

    operation: PaymentOperation


@dataclass(frozen=True)
class Wait:
    """Someone else holds the lease of this operation: wait until it ends or the lease runs out."""

    operation_id: uuid.UUID


Step = Drive | Done | Wait
# Transaction 1 on the unit of work it is given; `busy`: the caller's transaction holds payment
# locks, so nothing may be waited for (NOWAIT, no claim of a lease: `LockBusy` instead).
Begin = Callable[[PaymentsUnitOfWork, bool], Awaitable[Step]]
# A planned capture and the provider's answer to it, recorded with its authorization.
Planned = tuple[PaymentOperation, ProviderResult]


@dataclass(frozen=True)
class Touches:
    """What an operation's transaction 1 locks or claims: its key, and its intent once it exists."""

    kind: OperationKind
    key: str
    intent_id: uuid.UUID | None = None


@dataclass(frozen=True)
class RunnerSettings:
    provider_timeout_seconds: float = 10.0
    # Longer than the provider timeout plus the second transaction, so a live driver never loses
    # its lease; after a crash, retries of the same key wait at most this long. (A planned capture
    # is asked under the same lease: if taken over mid-way, the same references are asked again and
    # the later recorder finds the outcome recorded.)
    lease_seconds: float = 30.0
    poll_interval_seconds: float = 0.05

    def __post_init__(self) -> None:
        if not 0 < self.provider_timeout_seconds < self.lease_seconds:
            raise ValueError("the lease must outlast the provider timeout")


@dataclass(frozen=True)
class PaymentsDeps:
    """What every payments handler gets besides its command (`handler(cmd, deps)`): the runner (the
    unit-of-work factory, the provider and their timings), and `outcome`, the caller's unit of work
    when an event consumer runs the command (the outcome is recorded in it; the caller commits)."""

    runner: OperationRunner
    outcome: PaymentsUnitOfWork | None = None


class OperationRunner:
    def __init__(
        self,
        unit_of_work: Callable[[], PaymentsUnitOfWork],
        provider: PaymentProvider,
        settings: RunnerSettings,
        token_for: Callable[[str], Awaitable[str]] | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.provider = provider
        self.settings = settings
        # One per process, shared by every operation it runs (`domain.breaker`).
        self.breaker = breaker or CircuitBreaker()
        # Turns an authorization's payment method (a vault reference) into the provider's token,
        # in memory, only here: the operation row keeps the reference.
        self.token_for = token_for or _as_is

    async def run(
        self, begin: Begin, touches: Touches, outcome: PaymentsUnitOfWork | None = None
    ) -> PaymentOperation:
        """Run `begin` (transaction 1) and take the operation to a recorded outcome, SUCCEEDED or
        DECLINED, recorded in `outcome` when given (the caller commits it) or in a transaction of
        its own. Raises `ProviderUnavailable` when the outcome stays unknown."""
        operation, _ = await self.run_planned(begin, touches, outcome)
        return operation

    async def run_planned(
        self, begin: Begin, touches: Touches, outcome: PaymentsUnitOfWork | None = None
    ) -> tuple[PaymentOperation, PaymentOperation | None]:
        """`run`, and the capture the operation planned (an authorization's `capture_key`) as this
        call recorded it with the authorization; None when it recorded none (a replay, a decline,
        nothing planned, or someone else recorded the authorization first)."""
        if outcome is not None and outcome.holds(touches.kind, touches.key, touches.intent_id):
            return await self._decide_on(outcome, begin), None
        step = await self._claim(begin, outcome is not None and outcome.holds_locks)
        if isinstance(step, Done):
            return step.operation, None
        return await self.drive_planned(step.operation, step.intent, outcome)

    async def _claim(self, begin: Begin, busy: bool) -> Done | Drive:
        """Transaction 1 until it yields our operation's lease or its recorded outcome."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.lease_seconds + self.settings.provider_timeout_seconds
        while True:
            async with self.unit_of_work() as uow:
                step = await begin(uow, busy)
                if isinstance(step, Drive):
                    await uow.commit()  # the operation (or our claim of it) is recorded
            if isinstance(step, Done) or (isinstance(step, Drive) and step.own):
                return step
            if isinstance(step, Drive):
                # A stale operation of someone else's ends in a transaction of its own: had it
                # locked the intent in the caller's, ours could not start on another connection.
                await self.drive(step.operation, step.intent)
                continue  # the stale operation ended; start ours
            if busy:
                raise LockBusy()
            await self._wait(step.operation_id, deadline)

    async def _decide_on(self, outcome: PaymentsUnitOfWork, begin: Begin) -> PaymentOperation:
        """Transaction 1 on the caller's transaction, which holds the intent or the key: answers a
        replay or raises a refusal; anything to drive must wait for that transaction to end."""
        step = await begin(outcome, True)
        if isinstance(step, Done):
            return step.operation
        raise LockBusy()

    async def drive(
        self, operation: PaymentOperation, intent: PaymentIntent, outcome: PaymentsUnitOfWork | None = None
    ) -> PaymentOperation:
        """Call the provider for a PENDING operation whose lease we hold, then record the outcome
        (in `outcome` when given, the caller commits it). An authorization that plans its capture
        is captured too, whoever drives it (a redelivery, the sweeper): see `drive_planned`."""
        recorded, _ = await self.drive_planned(operation, intent, outcome)
        return recorded

    async def drive_planned(
        self, operation: PaymentOperation, intent: PaymentIntent, outcome: PaymentsUnitOfWork | None = None
    ) -> tuple[PaymentOperation, PaymentOperation | None]:
        """`drive`; an approved authorization with a `capture_key` is followed by its capture, asked
        under the lease of the authorization (the capture's reference derives from it: asked again
        after a crash, it is the same question), and both outcomes are recorded in one statement.
        Until then the authorization stays PENDING: whoever drives it next asks both again."""
        result = await self._ask(operation, intent)
        if operation.capture_key is None or not result.approved:
            return await self._recorded(operation, result, intent, outcome), None
        capture = operation.planned_capture(intent)
        charged = replace(intent, provider_reference=result.provider_reference)
        captured = await self._ask(capture, charged, holder=operation)
        if outcome is not None:
            return await self._record(outcome, operation, result, intent, (capture, captured))
        async with self.unit_of_work() as uow:
            recorded = await self._record(uow, operation, result, intent, (capture, captured))
            await uow.commit()
        return recorded

    async def _ask(
        self, operation: PaymentOperation, intent: PaymentIntent, holder: PaymentOperation | None = None
    ) -> ProviderResult:
        """The provider's answer; on no answer the lease (`holder`'s, the operation's by default) is
        freed and `ProviderUnavailable` raised. While the breaker is open, no answer is asked for
        (`ProviderPaused`)."""
        breaker = self.breaker
        holder = holder or operation
        if not breaker.allow():
            paused = ProviderPaused(max(breaker.seconds_until_probe(), 0.1))
            await self._release(holder, paused.message)
            raise paused
        try:
            async with asyncio.timeout(self.settings.provider_timeout_seconds):
                result = await self._call(operation, intent)
        except TimeoutError:
            breaker.failed()
            await self._release(holder, "provider timeout")
            raise ProviderTimeout() from None
        except ProviderUnavailable as exc:
            breaker.failed()
            await self._release(holder, exc.message)
            raise
        except asyncio.CancelledError:
            breaker.abandoned()
            raise
        except Exception as exc:  # whatever broke in the adapter, the outcome is unknown
            breaker.failed()
            await self._release(holder, repr(exc))
            raise ProviderError() from exc
        breaker.succeeded()
        return result

    async def _recorded(
        self,
        operation: PaymentOperation,
        result: ProviderResult,
        intent: PaymentIntent,
        outcome: PaymentsUnitOfWork | None,
    ) -> PaymentOperation:
        if outcome is not None:
            recorded, _ = await self._record(outcome, operation, result, intent)
            return recorded
        async with self.unit_of_work() as uow:
            recorded, _ = await self._record(uow, operation, result, intent)
            await uow.commit()
        return recorded

    async def _call(self, operation: PaymentOperation, intent: PaymentIntent) -> ProviderResult:
        reference = operation.reference
        if operation.kind is OperationKind.AUTHORIZE:
            token = await self.token_for(operation.payment_token or "")
            return await self.provider.authorize(token, operation.amount, reference)
        charge = intent.provider_reference
        if charge is None:  # pragma: no cover - only AUTHORIZED intents get further operations
            raise RuntimeError(f"payment intent {intent.id} has no provider reference")
        if operation.kind is OperationKind.CAPTURE:
            return await self.provider.capture(charge, operation.amount, reference)
        if operation.kind is OperationKind.VOID:
            return await self.provider.void(charge, reference)
        return await self.provider.refund(charge, operation.amount, reference)

    async def _record(
        self,
        uow: PaymentsUnitOfWork,
        operation: PaymentOperation,
        result: ProviderResult,
        intent: PaymentIntent,
        capture: Planned | None = None,
    ) -> tuple[PaymentOperation, PaymentOperation | None]:
        """Transaction 2: the outcome, the intent, its ledger entry and its event, all or nothing;
        with `capture` (an approved authorization's planned capture) the capture's row and ledger
        entry too, and the capture's event instead of the authorization's (the saga waits for the
        capture). One statement while `intent` (as transaction 1 read it) is current: it locks the
        intent itself. The outcome as recorded, and the capture's; if someone who took the
        operation over recorded it first, their outcome and None (the intent stays locked)."""
        written = await self._write(uow, operation, result, intent, capture, current=True)
        if written is not None:
            return written
        # The intent moved since transaction 1 read it: lock it and decide on what is there now.
        intent, status = await uow.store.lock_intent_with_operation(operation.intent_id, operation.id)
        uow.locked(intent.id)
        if status is not OperationStatus.PENDING:
            recorded = await uow.store.operation(operation.id)
            assert recorded is not None
            return recorded, None
        written = await self._write(uow, operation, result, intent, capture, current=False)
        assert written is not None  # under the intent's lock, the operation stays PENDING
        return written

    async def _write(
        self,
        uow: PaymentsUnitOfWork,
        operation: PaymentOperation,
        result: ProviderResult,
        intent: PaymentIntent,
        capture: Planned | None,
        *,
        current: bool,
    ) -> tuple[PaymentOperation, PaymentOperation | None] | None:
        """The outcome's one statement, computed from `intent`; with `current` it locks the intent
        itself and writes nothing (None) unless the intent is still that version."""
        now = uow.clock()
        status, code, transition = answer_of(intent, operation, result, now)
        after, event, planned = transition.intent, transition.event, None
        if capture is not None:
            planned_op, planned_result = capture
            # Asked after the authorization: its ledger entry sorts after the authorization's.
            later = max(uow.clock(), now + timedelta(microseconds=1))
            planned_status, planned_code, captured = answer_of(after, planned_op, planned_result, later)
            after, event = captured.intent, captured.event
            planned = Outcome(
                operation=planned_op,
                status=planned_status,
                result=after,
                provider_reference=planned_result.provider_reference,
                expected_version=transition.intent.version,
                ledger=captured.ledger,
                outcome_code=planned_code,
                decline_code=decline_of(planned_result),
            )
        # The event rides in the recording statement (one INSERT less at commit).
        announced = uow.embed_events([event]) if event is not None else None
        outcome = Outcome(
            operation=operation,
            status=status,
            result=transition.intent,
            provider_reference=result.provider_reference,
            expected_version=intent.version,
            intent=after if after is not intent else None,
            ledger=transition.ledger,
            outcome_code=code,
            decline_code=decline_of(result),
            capture=planned,
        )
        if current:
            if not await uow.store.record_outcome_if_current(outcome, announced):
                return None
            uow.locked(intent.id)
        else:
            await uow.store.record_outcome(outcome, announced)
        uow.recorded(operation, planned.operation if planned is not None else None)
        if announced is not None:
            uow.embedded(announced)
        return finished_as(operation, status, code, result, transition.intent), (
            finished_as(planned.operation, planned.status, planned.outcome_code, capture[1], after)
            if planned is not None and capture is not None
            else None
        )

    async def _release(self, operation: PaymentOperation, error: str) -> None:
        """Free the lease at once, so a retry with the same key need not wait for it to run out."""
        try:
            async with self.unit_of_work() as uow:
                await uow.store.release(operation.id, operation.lease_token, error)
                await uow.commit()
        except (SQLAlchemyError, OSError):
            # The lease then runs out by itself; the operation stays PENDING either way.
            log.warning("could not release the lease of payment operation %s", operation.id, exc_info=True)

    async def _wait(self, operation_id: uuid.UUID, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if loop.time() >= deadline:
                raise OperationInProgress()
            await asyncio.sleep(self.settings.poll_interval_seconds)
            async with self.unit_of_work() as uow:
                current = await uow.store.operation(operation_id)
            if current is None or current.finished or not current.leased:
                return


async def _as_is(payment_method: str) -> str:
    return payment_method
