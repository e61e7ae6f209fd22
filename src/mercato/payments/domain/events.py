"""Events the payments publish (subjects `<ns>.payments.v1.<name>`); aggregate_id is the intent id.

Amounts are integer minor units of `currency`. `amount` is what this event moved; the
`*_total` fields are the intent's running totals after it, so a consumer never has to sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mercato.platform.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class PaymentsEvent(DomainEvent):
    context: ClassVar[str] = "payments"

    intent_id: str
    order_reference: str
    amount: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class PaymentAuthorized(PaymentsEvent):
    name: ClassVar[str] = "payment_authorized"
    provider: str
    provider_reference: str


@dataclass(frozen=True, kw_only=True)
class PaymentDeclined(PaymentsEvent):
    """`decline_code`: PAYMENT_DECLINED or INSUFFICIENT_FUNDS; the intent is FAILED."""

    name: ClassVar[str] = "payment_declined"
    decline_code: str


@dataclass(frozen=True, kw_only=True)
class PaymentCaptured(PaymentsEvent):
    name: ClassVar[str] = "payment_captured"
    captured_total: int


@dataclass(frozen=True, kw_only=True)
class PaymentVoided(PaymentsEvent):
    """`amount` is the authorization released."""

    name: ClassVar[str] = "payment_voided"


@dataclass(frozen=True, kw_only=True)
class PaymentRefunded(PaymentsEvent):
    """`status` is PARTIALLY_REFUNDED or REFUNDED (the intent's status after the refund)."""

    name: ClassVar[str] = "payment_refunded"
    refunded_total: int
    captured_total: int
    reason: str
    status: str
