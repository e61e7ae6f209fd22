"""Vaulted payment methods: the shopper's provider token, exchanged at checkout for a reference.

The token a client sends (`checkoutComplete(paymentToken:)`) is card data in all but name: whoever
holds it can charge the shopper. It therefore never leaves the gateway and payments. The gateway
hands it to payments at once (`VaultPaymentMethod`); payments keeps it encrypted in its own table
and answers an opaque reference (`pm_` + 128 random bits) bound to the customer. The order saga,
its NATS commands, logs and traces carry that reference only; payments turns it back into the
token in memory, for the provider call, and nowhere else.

A value that does not look like a reference is taken as a raw token: what sagas started before
the vault still carry (and direct `authorize` calls from staff tools and tests).
"""

from __future__ import annotations

import secrets
from typing import Protocol

REFERENCE_PREFIX = "pm_"
_RANDOM_BYTES = 16  # 128 bits: unguessable, and no two references ever collide in practice


def new_reference() -> str:
    return REFERENCE_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)


def is_reference(value: str) -> bool:
    """Whether `value` names a vaulted payment method (no sandbox or provider token starts so)."""
    return value.startswith(REFERENCE_PREFIX)


class TokenCipher(Protocol):
    """Authenticated encryption of one token, bound to its reference and customer (a sealed token
    copied to another row does not open)."""

    def seal(self, token: str, *, reference: str, customer_id: str) -> bytes: ...

    def open(self, sealed: bytes, *, reference: str, customer_id: str) -> str: ...
