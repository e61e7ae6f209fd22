"""The vault use cases: seal a shopper's token into a reference, and open it for the provider.

No SQL on either path for this vault's references (`domain.vault`); the first vault's row
references open through its table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from mercato.payments.domain import checks
from mercato.payments.domain.commands import VaultPaymentMethod
from mercato.payments.domain.errors import VaultPaymentMethodErrorCode
from mercato.payments.domain.rules import PaymentsPaused
from mercato.payments.domain.vault import LegacyPaymentMethods, TokenSealer, is_reference, is_sealed
from mercato.platform.errors import ClientError, recode

log = logging.getLogger(__name__)


class Vault:
    def __init__(
        self,
        sealer: TokenSealer,
        legacy: LegacyPaymentMethods,
        paused_for: Callable[[], float] | None = None,
    ) -> None:
        self.sealer = sealer
        self.legacy = legacy
        # Seconds the provider's circuit stays open (0: closed, or a probe may go): every checkout
        # vaults its token first, so this is where new payments are turned away during an outage.
        self.paused_for = paused_for

    async def vault(self, cmd: VaultPaymentMethod) -> str:
        """The reference for `cmd.payment_token`; errors carry `VaultPaymentMethodErrorCode`s."""
        try:
            checks.check_vault(cmd)
        except ClientError as exc:
            raise recode(exc, VaultPaymentMethodErrorCode) from None
        paused = self.paused_for() if self.paused_for is not None else 0.0
        if paused > 0:
            raise recode(PaymentsPaused(paused), VaultPaymentMethodErrorCode)
        return self.sealer.seal(cmd.customer_id, cmd.payment_token)

    async def token_for(self, payment_method: str) -> str:
        """What the provider is asked with: the token sealed into a reference, a raw token (an
        older saga's) as is. A reference that does not open goes as is too: no provider knows it,
        so the authorization is declined rather than stuck."""
        if not is_reference(payment_method):
            return payment_method
        if is_sealed(payment_method):
            opened = self.sealer.open(payment_method)
            if opened is None:
                log.error("a sealed payment method does not open with the current key")
                return payment_method
            return opened[1]
        token = await self.legacy.reveal(payment_method)
        return payment_method if token is None else token
