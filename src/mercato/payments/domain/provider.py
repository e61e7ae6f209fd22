"""The port to a payment provider (card processor), and what it answers.

Every call carries `reference`: the provider-side idempotency key. Mercato passes the id of its
own `payment_operations` row, so re-driving an operation whose outcome was lost (a timeout, a
crash) asks the provider the same question again and gets the first answer back, never a second
charge. A decline is an answer (`ProviderResult.approved` False); an exception means the outcome
is unknown and the same call may be repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from mercato.platform.errors import Unavailable
from mercato.platform.types import Money


class DeclineCode(StrEnum):
    """Why a provider refused a call."""

    DECLINED = "DECLINED"  # the issuer said no, no reason given
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    UNKNOWN_CHARGE = "UNKNOWN_CHARGE"  # capture/void/refund of a charge the provider does not know
    INVALID_CHARGE_STATE = "INVALID_CHARGE_STATE"  # e.g. capture of a voided charge
    AMOUNT_EXCEEDED = "AMOUNT_EXCEEDED"  # capture above the authorization, refund above the capture
    REFERENCE_REUSED = "REFERENCE_REUSED"  # same reference, different request


@dataclass(frozen=True, slots=True)
class ProviderResult:
    """The provider's answer. `provider_reference` names the charge (authorize) or the capture,
    void or refund object the provider created; it is empty when declined before one existed."""

    approved: bool
    provider_reference: str
    decline_code: DeclineCode | None = None
    message: str = ""

    @classmethod
    def ok(cls, provider_reference: str) -> ProviderResult:
        return cls(approved=True, provider_reference=provider_reference)

    @classmethod
    def declined(cls, code: DeclineCode, message: str, provider_reference: str = "") -> ProviderResult:
        return cls(approved=False, provider_reference=provider_reference, decline_code=code, message=message)


class ProviderUnavailable(Unavailable):
    """The provider gave no answer we can trust; the call may be repeated with the same reference."""


class ProviderError(ProviderUnavailable):
    def __init__(self, message: str = "the payment provider failed; retry with the same key") -> None:
        super().__init__(message, code="PROVIDER_ERROR")


class ProviderTimeout(ProviderUnavailable):
    def __init__(
        self, message: str = "the payment provider did not answer in time; retry with the same key"
    ) -> None:
        super().__init__(message, code="PROVIDER_TIMEOUT")


class ProviderPaused(ProviderError):
    """The circuit breaker refused the call without asking the provider (`domain.breaker`): the
    provider failed every recent call. Same code and same advice as any provider error."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the payment provider is failing: calls paused for {seconds:.1f} s more; retry with the same key"
        )


class PaymentProvider(Protocol):
    """What Mercato needs of a provider. Every method is idempotent on `reference`."""

    @property
    def name(self) -> str: ...

    async def authorize(self, token: str, amount: Money, reference: str) -> ProviderResult: ...

    async def capture(self, charge: str, amount: Money, reference: str) -> ProviderResult: ...

    async def void(self, charge: str, reference: str) -> ProviderResult: ...

    async def refund(self, charge: str, amount: Money, reference: str) -> ProviderResult: ...
