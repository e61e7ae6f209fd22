"""The vault use cases: keep a shopper's token behind a reference, and open it for the provider.

The store is handed in (bootstrap knows the concrete one); see `domain.vault` for why tokens are
vaulted at all.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from mercato.payments.domain import checks
from mercato.payments.domain.commands import VaultPaymentMethod
from mercato.payments.domain.errors import VaultPaymentMethodErrorCode
from mercato.payments.domain.vault import is_reference
from mercato.platform.errors import ClientError, recode


class PaymentMethods(Protocol):
    async def store(self, customer_id: uuid.UUID, idempotency_key: str, token: str) -> str: ...

    async def reveal(self, reference: str) -> str | None: ...


class Vault:
    def __init__(self, store: PaymentMethods) -> None:
        self.store = store

    async def vault(self, cmd: VaultPaymentMethod) -> str:
        """The reference for `cmd.payment_token`; errors carry `VaultPaymentMethodErrorCode`s."""
        try:
            checks.check_vault(cmd)
            return await self.store.store(cmd.customer_id, cmd.idempotency_key, cmd.payment_token)
        except ClientError as exc:
            raise recode(exc, VaultPaymentMethodErrorCode) from None

    async def token_for(self, payment_method: str) -> str:
        """What the provider is asked with: the vaulted token behind a reference, a raw token (an
        older saga's) as is. An unknown reference goes as is too: no provider knows it, so the
        authorization is declined rather than stuck."""
        if not is_reference(payment_method):
            return payment_method
        token = await self.store.reveal(payment_method)
        return payment_method if token is None else token
