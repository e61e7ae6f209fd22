"""The payment intent and its state machine, and the ledger entries its money movements write.

Pure Python, no I/O; the current time is always passed in, never read here.

    REQUIRES_AUTHORIZATION ─authorize─► AUTHORIZED ─capture─► CAPTURED ─refund─► PARTIALLY_REFUNDED
            │ declined                       │ void                 └──────refund (all)──► REFUNDED
            ▼                                ▼
          FAILED                           VOIDED
Invariant, kept by every transition (and by CHECKs in the database):
0 ≤ refunded ≤ captured ≤ amount, all in the intent's currency.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from mercato.payments.domain import events
from mercato.payments.domain.rules import (
    CurrencyMismatch,
    InvalidState,
    PartialCaptureNotSupported,
    RefundExceedsCaptured,
)
from mercato.platform.errors import ClientError
from mercato.platform.events import DomainEvent
from mercato.platform.types import Money


class IntentStatus(StrEnum):
    REQUIRES_AUTHORIZATION = "REQUIRES_AUTHORIZATION"
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    VOIDED = "VOIDED"
    FAILED = "FAILED"


class OperationKind(StrEnum):
    AUTHORIZE = "AUTHORIZE"
    CAPTURE = "CAPTURE"
    VOID = "VOID"
    REFUND = "REFUND"


class LedgerKind(StrEnum):
    AUTHORIZATION = "AUTHORIZATION"
    CAPTURE = "CAPTURE"
    VOID = "VOID"
    REFUND = "REFUND"


LEDGER_KIND: dict[OperationKind, LedgerKind] = {
    OperationKind.AUTHORIZE: LedgerKind.AUTHORIZATION,
    OperationKind.CAPTURE: LedgerKind.CAPTURE,
    OperationKind.VOID: LedgerKind.VOID,
    OperationKind.REFUND: LedgerKind.REFUND,
}

# The statuses each operation may start from.
_ALLOWED_FROM: dict[OperationKind, frozenset[IntentStatus]] = {
    OperationKind.AUTHORIZE: frozenset({IntentStatus.REQUIRES_AUTHORIZATION}),
    OperationKind.CAPTURE: frozenset({IntentStatus.AUTHORIZED}),
    OperationKind.VOID: frozenset({IntentStatus.AUTHORIZED}),
    OperationKind.REFUND: frozenset({IntentStatus.CAPTURED, IntentStatus.PARTIALLY_REFUNDED}),
}


@dataclass(frozen=True)
class LedgerEntry:
    """One money movement. Exactly one per successful operation (`operation_id` is UNIQUE)."""

    id: uuid.UUID
    intent_id: uuid.UUID
    operation_id: uuid.UUID
    order_reference: str
    kind: LedgerKind
    amount: Money
    created_at: datetime


@dataclass(frozen=True)
class Transition:
    """What an operation's outcome does: the intent after it, and what to write with it."""

    intent: PaymentIntent
    ledger: LedgerEntry | None = None
    event: DomainEvent | None = None


@dataclass(frozen=True)
class PaymentIntent:
    id: uuid.UUID
    order_reference: str
    amount: Money
    status: IntentStatus
    provider: str
    provider_reference: str | None
    captured_amount: Money
    refunded_amount: Money
    created_at: datetime
    updated_at: datetime
    version: int
    failure_code: str | None = None

    @classmethod
    def open(cls, *, order_reference: str, amount: Money, provider: str, now: datetime) -> PaymentIntent:
        zero = Money(0, amount.currency)
        return cls(
            id=uuid.uuid4(),
            order_reference=order_reference,
            amount=amount,
            status=IntentStatus.REQUIRES_AUTHORIZATION,
            provider=provider,
            provider_reference=None,
            captured_amount=zero,
            refunded_amount=zero,
            created_at=now,
            updated_at=now,
            version=1,
        )

    @property
    def currency(self) -> str:
        return self.amount.currency

    @property
    def refundable(self) -> Money:
        return self.captured_amount - self.refunded_amount

    def check(self, kind: OperationKind, amount: Money) -> None:
        """Raise unless `kind` of `amount` may start now. Called before the provider is asked."""
        if self.status not in _ALLOWED_FROM[kind]:
            raise InvalidState(kind.value, self.status.value)
        if amount.currency != self.currency:
            raise CurrencyMismatch(amount.currency, self.currency)
        if amount.amount <= 0:
            raise ClientError("amount must be more than zero", code="OUT_OF_RANGE", field="amount")
        if kind is OperationKind.CAPTURE and amount != self.amount:
            raise PartialCaptureNotSupported()
        if kind is OperationKind.REFUND and amount.amount > self.refundable.amount:
            raise RefundExceedsCaptured(amount.amount, self.refundable.amount)
        if kind in (OperationKind.AUTHORIZE, OperationKind.VOID) and amount != self.amount:
            raise ClientError("amount must be the intent's amount", code="INVALID", field="amount")

    def succeeded(
        self,
        kind: OperationKind,
        amount: Money,
        *,
        operation_id: uuid.UUID,
        provider_reference: str,
        now: datetime,
        reason: str = "",
    ) -> Transition:
        """The provider approved `kind` of `amount`: the new intent, its ledger entry and event."""
        self.check(kind, amount)
        version = self.version + 1
        if kind is OperationKind.AUTHORIZE:
            after = replace(
                self,
                status=IntentStatus.AUTHORIZED,
                provider_reference=provider_reference,
                updated_at=now,
                version=version,
            )
        elif kind is OperationKind.CAPTURE:
            after = replace(
                self, status=IntentStatus.CAPTURED, captured_amount=amount, updated_at=now, version=version
            )
        elif kind is OperationKind.VOID:
            after = replace(self, status=IntentStatus.VOIDED, updated_at=now, version=version)
        else:
            refunded = self.refunded_amount + amount
            status = (
                IntentStatus.REFUNDED if refunded == self.captured_amount else IntentStatus.PARTIALLY_REFUNDED
            )
            after = replace(self, status=status, refunded_amount=refunded, updated_at=now, version=version)
        entry = LedgerEntry(
            id=uuid.uuid4(),
            intent_id=self.id,
            operation_id=operation_id,
            order_reference=self.order_reference,
            kind=LEDGER_KIND[kind],
            amount=amount,
            created_at=now,
        )
        return Transition(after, entry, after._event(kind, amount, reason))

    def declined(self, kind: OperationKind, code: str, *, now: datetime) -> Transition:
        """The provider refused. A refused authorization fails the intent; a refused capture, void
        or refund leaves it as it was (the provider's state, not ours, was off)."""
        if kind is not OperationKind.AUTHORIZE:
            return Transition(self)
        if self.status is not IntentStatus.REQUIRES_AUTHORIZATION:
            raise InvalidState(kind.value, self.status.value)
        after = replace(
            self, status=IntentStatus.FAILED, failure_code=code, updated_at=now, version=self.version + 1
        )
        return Transition(
            after,
            None,
            events.PaymentDeclined(
                aggregate_id=str(self.id),
                intent_id=str(self.id),
                order_reference=self.order_reference,
                amount=self.amount.amount,
                currency=self.currency,
                decline_code=code,
            ),
        )

    def _event(self, kind: OperationKind, amount: Money, reason: str) -> DomainEvent:
        key, ref, value, currency = str(self.id), self.order_reference, amount.amount, amount.currency
        if kind is OperationKind.AUTHORIZE:
            return events.PaymentAuthorized(
                aggregate_id=key,
                intent_id=key,
                order_reference=ref,
                amount=value,
                currency=currency,
                provider=self.provider,
                provider_reference=self.provider_reference or "",
            )
        if kind is OperationKind.CAPTURE:
            return events.PaymentCaptured(
                aggregate_id=key,
                intent_id=key,
                order_reference=ref,
                amount=value,
                currency=currency,
                captured_total=self.captured_amount.amount,
            )
        if kind is OperationKind.VOID:
            return events.PaymentVoided(
                aggregate_id=key, intent_id=key, order_reference=ref, amount=value, currency=currency
            )
        return events.PaymentRefunded(
            aggregate_id=key,
            intent_id=key,
            order_reference=ref,
            amount=value,
            currency=currency,
            refunded_total=self.refunded_amount.amount,
            captured_total=self.captured_amount.amount,
            reason=reason,
            status=self.status.value,
        )


@dataclass(frozen=True)
class Reconciliation:
    """An order's money in one currency, summed from the ledger: `net` is captured - refunded."""

    order_reference: str
    currency: str
    authorized: int
    captured: int
    refunded: int
    voided: int

    @property
    def net(self) -> int:
        return self.captured - self.refunded
