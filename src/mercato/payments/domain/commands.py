"""Payment use cases, as data. Entrypoints build one and hand it to `PaymentsService.handle`.

Every mutation carries an idempotency key, unique per kind of operation: the same key again
returns the first outcome (a declined authorization raises the same error again) without calling
the provider; the same key with different parameters is refused (`IDEMPOTENCY_KEY_REUSED`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from mercato.platform.types import Money


@dataclass(frozen=True)
class VaultPaymentMethod:
    """Seal the shopper's provider token into an opaque reference only payments can open (see
    `domain.vault`). The same customer and token answer the same reference, whatever the key: the
    order placed under the key tells a retry from a reused key."""

    customer_id: uuid.UUID
    payment_token: str
    idempotency_key: str


@dataclass(frozen=True)
class AuthorizePayment:
    """Reserve `amount` on the customer's payment method for an order. `payment_token` is a vault
    reference (`pm_...`, what the order saga sends) or a raw provider token (older sagas, tools)."""

    order_reference: str
    amount: Money
    payment_token: str
    idempotency_key: str


@dataclass(frozen=True)
class AuthorizeAndCapturePayment:
    """Authorize `amount` and capture it at once (the checkout saga's payment step): two operations
    under their own keys, so a repeat answers both outcomes and a separate `CapturePayment` with
    `capture_idempotency_key` is the same capture."""

    order_reference: str
    amount: Money
    payment_token: str
    idempotency_key: str  # the authorization's
    capture_idempotency_key: str

    @property
    def authorization(self) -> AuthorizePayment:
        return AuthorizePayment(self.order_reference, self.amount, self.payment_token, self.idempotency_key)


@dataclass(frozen=True)
class CapturePayment:
    """Take the authorized money. Only a full capture is supported: `amount`, when given, must be
    the authorized amount."""

    intent_id: uuid.UUID
    idempotency_key: str
    amount: Money | None = None


@dataclass(frozen=True)
class VoidPayment:
    """Release an authorization that will not be captured."""

    intent_id: uuid.UUID
    idempotency_key: str


@dataclass(frozen=True)
class RefundPayment:
    """Give back part or all of the captured money; refunds never add up to more than captured."""

    intent_id: uuid.UUID
    amount: Money
    idempotency_key: str
    reason: str


@dataclass(frozen=True)
class ResolvePendingOperations:
    """Re-drive up to `limit` operations left PENDING by a timeout, a provider error or a crash
    (their lease has run out), asking the provider again with the same reference. What a
    periodic sweeper calls. Operations tried `max_attempts` times are left for a person."""

    limit: int = 50
    max_attempts: int = 10
