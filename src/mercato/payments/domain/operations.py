"""A payment operation: one idempotent request to the provider, recorded before and after the call.

Its row in `payment_operations` is written PENDING (and committed) before the provider is called,
then given its outcome in a second transaction. Whoever finds it PENDING with its lease run out
(a timeout, a crash) may claim it and call the provider again with the same `reference`, so the
provider answers the first call's outcome instead of charging twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from mercato.payments.domain.model import LedgerEntry, OperationKind, PaymentIntent, Transition
from mercato.payments.domain.provider import DeclineCode, ProviderResult
from mercato.payments.domain.rules import PaymentDeclined, ProviderRejected
from mercato.platform.errors import ClientError
from mercato.platform.types import Money


class OperationStatus(StrEnum):
    PENDING = "PENDING"  # recorded, outcome not known yet
    SUCCEEDED = "SUCCEEDED"
    DECLINED = "DECLINED"  # the provider refused; an outcome like any other, replayed as such


@dataclass(frozen=True)
class OperationRequest:
    """What a command asks, in the terms a replay of its idempotency key is compared on."""

    kind: OperationKind
    idempotency_key: str
    intent_id: uuid.UUID | None  # None for AUTHORIZE: the intent is created with the operation
    order_reference: str
    amount: Money
    payment_token: str | None = None
    reason: str | None = None
    # An authorization's planned capture (authorize-and-capture): its idempotency key.
    capture_key: str | None = None
    # The operation's id when it must be one already known (a planned capture started on its own).
    operation_id: uuid.UUID | None = None


@dataclass(frozen=True)
class PaymentOperation:
    id: uuid.UUID
    kind: OperationKind
    idempotency_key: str
    intent_id: uuid.UUID
    order_reference: str
    amount: Money
    payment_token: str | None
    reason: str | None
    status: OperationStatus
    attempts: int
    # True while some request holds the lease (by the database clock) and is driving it.
    leased: bool
    # Set by whoever claimed the lease last; releasing it checks it, so a slow driver whose lease
    # was taken over never frees the lease of the one that took over.
    lease_token: uuid.UUID | None
    outcome_code: str | None = None
    decline_code: str | None = None
    provider_reference: str | None = None
    result: PaymentIntent | None = None  # the intent right after the outcome: what replays return
    # An authorization that plans its capture: the capture's key. Whoever drives the authorization
    # asks for the capture right after it (`planned_capture`), and records both outcomes at once.
    capture_key: str | None = None

    @classmethod
    def start(cls, request: OperationRequest, intent_id: uuid.UUID) -> PaymentOperation:
        return cls(
            id=request.operation_id or uuid.uuid4(),
            kind=request.kind,
            idempotency_key=request.idempotency_key,
            intent_id=intent_id,
            order_reference=request.order_reference,
            amount=request.amount,
            payment_token=request.payment_token,
            reason=request.reason,
            status=OperationStatus.PENDING,
            attempts=1,
            leased=True,
            lease_token=uuid.uuid4(),
            capture_key=request.capture_key if request.kind is OperationKind.AUTHORIZE else None,
        )

    @property
    def planned_capture_id(self) -> uuid.UUID:
        """The id (so the provider reference) of the capture this authorization plans."""
        return uuid.uuid5(self.id, "capture")

    def planned_capture(self, authorized: PaymentIntent) -> PaymentOperation:
        """The capture of all of `authorized` this authorization plans (`capture_key`). Its id, and
        so its provider reference, derives from the authorization's: every driver of the
        authorization (a redelivery, the sweeper) asks the provider the same capture, which is what
        keeps it from being taken twice although its row is only written with its outcome."""
        if self.capture_key is None:  # pragma: no cover - callers check
            raise RuntimeError(f"payment operation {self.id} plans no capture")
        return PaymentOperation(
            id=self.planned_capture_id,
            kind=OperationKind.CAPTURE,
            idempotency_key=self.capture_key,
            intent_id=authorized.id,
            order_reference=authorized.order_reference,
            amount=authorized.amount,
            payment_token=None,
            reason=None,
            status=OperationStatus.PENDING,
            attempts=self.attempts,
            leased=True,
            lease_token=None,
        )

    @property
    def reference(self) -> str:
        """The provider-side idempotency reference: the same on every attempt of this operation."""
        return f"op_{self.id.hex}"

    @property
    def finished(self) -> bool:
        return self.status is not OperationStatus.PENDING

    def answers(self, request: OperationRequest) -> bool:
        """Whether `request` (carrying this operation's key) asks for exactly this operation."""
        same = (request.kind, request.amount, request.payment_token, request.reason) == (
            self.kind,
            self.amount,
            self.payment_token,
            self.reason,
        )
        if request.intent_id is None:
            return same and request.order_reference == self.order_reference
        return same and request.intent_id == self.intent_id

    def refusal(self) -> ClientError:
        """The error a DECLINED operation raises, first time and on every replay."""
        if self.kind is OperationKind.AUTHORIZE:
            return PaymentDeclined(self.outcome_code or "PAYMENT_DECLINED", self.intent_id)
        return ProviderRejected(self.decline_code or DeclineCode.DECLINED.value)


@dataclass(frozen=True)
class Outcome:
    """What recording a provider's answer writes: the operation finished as `status` with `result`
    (the intent right after), the intent saved if it changed (`intent`, expected at
    `expected_version`), and the ledger entry of a success."""

    operation: PaymentOperation
    status: OperationStatus
    result: PaymentIntent
    provider_reference: str
    expected_version: int
    intent: PaymentIntent | None = None
    ledger: LedgerEntry | None = None
    outcome_code: str | None = None
    decline_code: str | None = None
    # The capture an authorization planned, asked right after it was approved: its row is written
    # already finished, with this outcome (`intent` is then the intent after both).
    capture: Outcome | None = None


def outcome_code(kind: OperationKind, decline: DeclineCode | None) -> str:
    """The mutation's error code for a provider's decline."""
    if kind is not OperationKind.AUTHORIZE:
        return "PROVIDER_REJECTED"
    return "INSUFFICIENT_FUNDS" if decline is DeclineCode.INSUFFICIENT_FUNDS else "PAYMENT_DECLINED"


@dataclass(frozen=True)
class ResolveReport:
    """What one `ResolvePendingOperations` sweep did: `claimed` stale operations, of which
    `resolved` now have an outcome and `still_pending` met an unavailable provider again."""

    claimed: int
    resolved: int
    still_pending: int


def answer_of(
    intent: PaymentIntent, operation: PaymentOperation, result: ProviderResult, now: datetime
) -> tuple[OperationStatus, str | None, Transition]:
    """What the provider's answer to `operation` does to `intent`: its status, outcome code and
    the intent's transition."""
    if result.approved:
        transition = intent.succeeded(
            operation.kind,
            operation.amount,
            operation_id=operation.id,
            provider_reference=result.provider_reference,
            now=now,
            reason=operation.reason or "",
        )
        return OperationStatus.SUCCEEDED, None, transition
    code = outcome_code(operation.kind, result.decline_code)
    return OperationStatus.DECLINED, code, intent.declined(operation.kind, code, now=now)


def decline_of(result: ProviderResult) -> str | None:
    return result.decline_code.value if result.decline_code is not None else None


def finished_as(
    operation: PaymentOperation,
    status: OperationStatus,
    code: str | None,
    result: ProviderResult,
    after: PaymentIntent,
) -> PaymentOperation:
    """The operation as its outcome left it (what the caller answers, and replays read back)."""
    return replace(
        operation,
        status=status,
        leased=False,
        lease_token=None,
        outcome_code=code,
        decline_code=decline_of(result),
        provider_reference=result.provider_reference or None,
        result=after,
    )
