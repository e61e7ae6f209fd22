"""Vaulted payment methods: the shopper's provider token, exchanged at checkout for a reference.

The token a client sends (`checkoutComplete(paymentToken:)`) is card data in all but name: whoever
holds it can charge the shopper. It therefore never leaves the gateway and payments. The gateway
hands it to payments at once (`VaultPaymentMethod`), which answers an opaque reference: the token
and its customer sealed with payments' own key (AES-256-SIV, a deterministic authenticated
cipher), `pm_2.` + base64url. Only payments holds the key, so only payments can turn the reference
back into the token — in memory, for the provider call, and nowhere else. The order saga, its NATS
commands, logs and traces carry the reference only.

Why sealed into the reference rather than kept in a table behind a random id (the first vault,
whose `pm_` + 22-character references still open from `payments.payment_methods` for sagas started
before): a row costs an INSERT and a commit at every checkout and a SELECT at every authorization,
for no protection the key does not already give. Deterministic sealing keeps a retried checkout's
reference equal to the first one's (same customer, same token); a different token under the same
idempotency key is a different reference, and the order's own idempotency answers the retry with
the first order.

A value that does not look like a reference is taken as a raw token: what sagas started before
the vault still carry (and direct `authorize` calls from staff tools and tests).
"""

from __future__ import annotations

import uuid
from typing import Protocol

REFERENCE_PREFIX = "pm_"
SEALED_PREFIX = "pm_2."  # "." is outside base64url: no first-vault reference starts so
TOKEN_MAX = 200  # characters of a provider token (what a shopper's client may send)
# The longest reference a token of TOKEN_MAX characters seals into (4 UTF-8 bytes each, 16 of the
# customer, 16 of the synthetic IV, base64url): what saga commands must accept as a payment method.
REFERENCE_MAX = len(SEALED_PREFIX) + 4 * -(-(TOKEN_MAX * 4 + 32) // 3)


def is_reference(value: str) -> bool:
    """Whether `value` names a vaulted payment method (no sandbox or provider token starts so)."""
    return value.startswith(REFERENCE_PREFIX)


def is_sealed(value: str) -> bool:
    """Whether `value` is a reference that carries its token (this vault's), not a row id (the first)."""
    return value.startswith(SEALED_PREFIX)


class TokenSealer(Protocol):
    """Deterministic authenticated encryption of a customer's token into a reference, and back."""

    def seal(self, customer_id: uuid.UUID, token: str) -> str: ...

    def open(self, reference: str) -> tuple[uuid.UUID, str] | None:
        """The customer and token sealed into `reference`; None when it does not open (another key
        sealed it, or it was edited)."""
        ...


class LegacyPaymentMethods(Protocol):
    """The first vault's rows: references (`pm_` + 128 random bits) sealed in a table."""

    async def reveal(self, reference: str) -> str | None: ...
