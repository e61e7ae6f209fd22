"""Payment use cases, `handler(cmd, deps)` (`operations.PaymentsDeps`, listed in
`dispatch.COMMAND_HANDLERS`). Each checks its input, runs its operation through the `OperationRunner`
and answers the intent after it, or raises a typed error with a code of its mutation's enum.

`deps.outcome`, when given, is the caller's unit of work (an event consumer's): the operation's
outcome is written in it and the caller commits (see `service_layer.operations`)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypeVar

from mercato.payments.domain import checks, commands
from mercato.payments.domain.errors import (
    AuthorizePaymentErrorCode,
    CapturePaymentErrorCode,
    RefundPaymentErrorCode,
    VoidPaymentErrorCode,
)
from mercato.payments.domain.model import OperationKind, PaymentIntent
from mercato.payments.domain.operations import (
    OperationRequest,
    OperationStatus,
    PaymentOperation,
    ResolveReport,
)
from mercato.payments.domain.provider import ProviderUnavailable
from mercato.payments.domain.rules import CaptureRefused, IdempotencyKeyReused, IntentNotFound, LockBusy
from mercato.payments.service_layer.operations import (
    Begin,
    Done,
    Drive,
    OperationRunner,
    PaymentsDeps,
    Step,
    Touches,
    Wait,
)
from mercato.payments.service_layer.unit_of_work import PaymentsUnitOfWork
from mercato.platform.errors import ClientError, Unavailable, recode
from mercato.platform.types import Money

T = TypeVar("T")


async def _guarded(codes: type[Enum], action: Callable[[], Awaitable[T]]) -> T:
    """Run a use case; re-code its errors (input, rules, provider) into the mutation's `codes`."""
    try:
        return await action()
    except ClientError as exc:
        raise recode(exc, codes) from None
    except Unavailable as exc:
        name = exc.code.name if isinstance(exc.code, Enum) else str(exc.code)
        exc.code = codes[name] if name in codes.__members__ else codes["PROVIDER_ERROR"]
        raise


def _outcome(operation: PaymentOperation) -> PaymentIntent:
    """The first outcome of an operation, as its command answers it every time it is asked."""
    if operation.status is OperationStatus.DECLINED:
        raise operation.refusal()
    if operation.result is None:  # pragma: no cover - a finished operation always has its result
        raise RuntimeError(f"payment operation {operation.id} has no result")
    return operation.result


async def _existing(
    uow: PaymentsUnitOfWork,
    found: PaymentOperation,
    request: OperationRequest,
    lease_seconds: float,
    busy: bool,
) -> Step:
    """The next step for an operation already recorded under the request's key."""
    if not found.answers(request):
        raise IdempotencyKeyReused()
    if found.finished:
        return Done(found)
    if found.leased:
        return Wait(found.id)
    if busy:
        raise LockBusy()  # its row may be locked by whoever holds our caller's locks
    claimed = await uow.store.claim(found.id, lease_seconds)
    if claimed is None:
        return Wait(found.id)
    # A plain read: the intent is locked again when the outcome is recorded.
    intent = (await uow.store.intents([found.intent_id]))[found.intent_id]
    return Drive(claimed, intent)


def _begin_authorize(
    cmd: commands.AuthorizePayment, provider: str, lease_seconds: float, capture_key: str | None = None
) -> Begin:
    request = OperationRequest(
        kind=OperationKind.AUTHORIZE,
        idempotency_key=cmd.idempotency_key,
        intent_id=None,
        order_reference=cmd.order_reference,
        amount=cmd.amount,
        payment_token=cmd.payment_token,
        capture_key=capture_key,
    )

    async def begin(uow: PaymentsUnitOfWork, busy: bool) -> Step:
        intent = PaymentIntent.open(
            order_reference=cmd.order_reference, amount=cmd.amount, provider=provider, now=uow.clock()
        )
        operation = PaymentOperation.start(request, intent.id)
        # The operation row claims the key first (a concurrent same key queues on it), the intent
        # only with it, in one statement.
        recorded = await uow.store.insert_authorization(operation, intent, lease_seconds)
        if recorded is not None:
            return Drive(recorded, intent)
        found = await uow.store.operation_by_key(OperationKind.AUTHORIZE, cmd.idempotency_key)
        if found is None:  # pragma: no cover - the conflicting row cannot vanish
            raise RuntimeError("idempotency key conflicted but is not there")
        return await _existing(uow, found, request, lease_seconds, busy)

    return begin


async def _known(
    uow: PaymentsUnitOfWork,
    intent: PaymentIntent,
    request: OperationRequest,
    recorded: list[PaymentOperation],
    lease_seconds: float,
    busy: bool,
) -> Step | None:
    """The step an operation already recorded decides (the request's key, or another one in
    flight on the intent), or None when the request's operation may start."""
    key = (request.kind, request.idempotency_key)
    same_key = [o for o in recorded if (o.kind, o.idempotency_key) == key]
    if same_key:
        return await _existing(uow, same_key[0], request, lease_seconds, busy)
    in_flight = [o for o in recorded if o.status is OperationStatus.PENDING and o.intent_id == intent.id]
    if not in_flight:
        return None
    other = in_flight[0]
    if other.leased:
        return Wait(other.id)
    if busy:
        raise LockBusy()
    claimed = await uow.store.claim(other.id, lease_seconds)
    return Drive(claimed, intent, own=False) if claimed is not None else Wait(other.id)


def _begin_on_intent(
    kind: OperationKind,
    intent_id: uuid.UUID,
    key: str,
    request_for: Callable[[PaymentIntent], OperationRequest],
    lease_seconds: float,
) -> Begin:
    async def begin(uow: PaymentsUnitOfWork, busy: bool) -> Step:
        locked = await uow.store.lock_intent_with_operations(intent_id, kind, key, nowait=busy)
        if locked is None:
            raise IntentNotFound()
        intent, recorded = locked
        request = request_for(intent)
        known = await _known(uow, intent, request, recorded, lease_seconds, busy)
        if known is not None:
            return known
        intent.check(kind, request.amount)  # an illegal transition is refused, nothing written
        operation = PaymentOperation.start(request, intent.id)
        if await uow.store.insert_operation(operation, lease_seconds):
            return Drive(operation, intent)
        # The operations were read with the lock's snapshot: if we queued for the lock, the one
        # that held it may have recorded an operation since. We hold the lock now: read again.
        recorded = await uow.store.operations_for(kind, key, intent.id)
        known = await _known(uow, intent, request, recorded, lease_seconds, busy)
        if known is None:  # pragma: no cover - the conflicting row cannot vanish
            raise RuntimeError("the operation conflicted but nothing is recorded")
        return known

    return begin


def _request(
    kind: OperationKind,
    key: str,
    amount: Callable[[PaymentIntent], Money],
    reason: str | None = None,
    operation_id: uuid.UUID | None = None,
) -> Callable[[PaymentIntent], OperationRequest]:
    def request_for(intent: PaymentIntent) -> OperationRequest:
        return OperationRequest(
            kind=kind,
            idempotency_key=key,
            intent_id=intent.id,
            order_reference=intent.order_reference,
            amount=amount(intent),
            reason=reason,
            operation_id=operation_id,
        )

    return request_for


async def authorize_payment(cmd: commands.AuthorizePayment, deps: PaymentsDeps) -> PaymentIntent:
    runner, outcome = deps.runner, deps.outcome

    async def run() -> PaymentIntent:
        checks.check_authorize(cmd)
        begin = _begin_authorize(cmd, runner.provider.name, runner.settings.lease_seconds)
        touches = Touches(OperationKind.AUTHORIZE, cmd.idempotency_key)
        return _outcome(await runner.run(begin, touches, outcome))

    return await _guarded(AuthorizePaymentErrorCode, run)


async def _on_intent(
    kind: OperationKind,
    intent_id: uuid.UUID,
    key: str,
    request_for: Callable[[PaymentIntent], OperationRequest],
    runner: OperationRunner,
    outcome: PaymentsUnitOfWork | None,
) -> PaymentIntent:
    begin = _begin_on_intent(kind, intent_id, key, request_for, runner.settings.lease_seconds)
    return _outcome(await runner.run(begin, Touches(kind, key, intent_id), outcome))


async def authorize_and_capture_payment(
    cmd: commands.AuthorizeAndCapturePayment, deps: PaymentsDeps
) -> PaymentIntent:
    """Authorize, then capture all of it. Two transactions when all goes well: the authorization
    PENDING, planning its capture (`capture_key`); after both provider calls, both outcomes in one
    statement (in `outcome` when given). The capture has no PENDING row of its own: its reference
    derives from the authorization's, so whoever drives the PENDING authorization again (a
    redelivery, the sweeper) asks the same capture again (`OperationRunner.drive_planned`).
    A decline raises `PaymentDeclined` as `authorize_payment` does; a refused capture raises
    `CaptureRefused` (the money stays authorized, for the caller to void)."""
    runner, outcome = deps.runner, deps.outcome
    key = cmd.capture_idempotency_key

    async def authorize() -> tuple[PaymentIntent, PaymentOperation, PaymentOperation | None]:
        checks.check_authorize_and_capture(cmd)
        lease = runner.settings.lease_seconds
        begin = _begin_authorize(cmd.authorization, runner.provider.name, lease, capture_key=key)
        touches = Touches(OperationKind.AUTHORIZE, cmd.idempotency_key)
        operation, captured = await runner.run_planned(begin, touches, outcome)
        return _outcome(operation), operation, captured

    authorized, authorization, captured = await _guarded(AuthorizePaymentErrorCode, authorize)

    async def capture() -> PaymentIntent:
        if captured is not None:
            return _outcome(captured)
        # A replay (the capture is found by its key), or an authorization recorded without its
        # capture: its key was taken, or a version that captures in a command of its own recorded
        # it. A planned capture then keeps its planned id: had it been asked, it is the same question.
        planned = authorization.planned_capture_id if authorization.capture_key == key else None
        request_for = _request(OperationKind.CAPTURE, key, lambda intent: intent.amount, None, planned)
        return await _on_intent(OperationKind.CAPTURE, authorized.id, key, request_for, runner, outcome)

    try:
        return await _guarded(CapturePaymentErrorCode, capture)
    except ClientError as exc:
        raise CaptureRefused(authorized.id, exc) from exc


async def capture_payment(cmd: commands.CapturePayment, deps: PaymentsDeps) -> PaymentIntent:
    """Full capture only: no amount means the authorized amount; another amount is refused."""
    runner, outcome = deps.runner, deps.outcome

    async def run() -> PaymentIntent:
        checks.check_capture(cmd)
        kind, key = OperationKind.CAPTURE, cmd.idempotency_key
        request_for = _request(kind, key, lambda intent: cmd.amount or intent.amount)
        return await _on_intent(kind, cmd.intent_id, key, request_for, runner, outcome)

    return await _guarded(CapturePaymentErrorCode, run)


async def void_payment(cmd: commands.VoidPayment, deps: PaymentsDeps) -> PaymentIntent:
    runner, outcome = deps.runner, deps.outcome

    async def run() -> PaymentIntent:
        checks.check_void(cmd)
        kind, key = OperationKind.VOID, cmd.idempotency_key
        request_for = _request(kind, key, lambda intent: intent.amount)
        return await _on_intent(kind, cmd.intent_id, key, request_for, runner, outcome)

    return await _guarded(VoidPaymentErrorCode, run)


async def refund_payment(cmd: commands.RefundPayment, deps: PaymentsDeps) -> PaymentIntent:
    runner, outcome = deps.runner, deps.outcome

    async def run() -> PaymentIntent:
        checks.check_refund(cmd)
        kind, key = OperationKind.REFUND, cmd.idempotency_key
        request_for = _request(kind, key, lambda _: cmd.amount, cmd.reason)
        return await _on_intent(kind, cmd.intent_id, key, request_for, runner, outcome)

    return await _guarded(RefundPaymentErrorCode, run)


async def resolve_pending_operations(
    cmd: commands.ResolvePendingOperations, deps: PaymentsDeps
) -> ResolveReport:
    """Claim stale PENDING operations (SKIP LOCKED: sweepers may run side by side) and re-drive
    them one after the other; a decline is an outcome like a success here, nothing is raised.
    Always in transactions of its own (`deps.outcome` is not used)."""
    runner = deps.runner
    async with runner.unit_of_work() as uow:
        claimed = await uow.store.claim_stale(
            max(1, min(cmd.limit, 500)), runner.settings.lease_seconds, max(1, cmd.max_attempts)
        )
        intents = await uow.store.intents([o.intent_id for o in claimed]) if claimed else {}
        await uow.commit()
    resolved = 0
    for operation in claimed:
        try:
            await runner.drive(operation, intents[operation.intent_id])
        except ProviderUnavailable:
            continue
        resolved += 1
    return ResolveReport(claimed=len(claimed), resolved=resolved, still_pending=len(claimed) - resolved)
