"""How other contexts call payments: the `PaymentsClient` Protocol, and its in-process form.

An order saga depends on the Protocol only. Every mutation is safe to retry with the same
idempotency key after a failure at any point: the retry answers the first outcome, or finishes
the operation the failed call left pending, and never moves money twice. Errors arrive as
`platform.errors` classes with the codes of `domain.errors`: `Conflict` with
`AuthorizePaymentErrorCode.PAYMENT_DECLINED` (final, the intent is FAILED), `Unavailable` with
`PROVIDER_TIMEOUT` / `PROVIDER_ERROR` / `OPERATION_IN_PROGRESS` (retry with the same key).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Protocol

from mercato.payments.domain import commands
from mercato.payments.domain.model import PaymentIntent, Reconciliation

if TYPE_CHECKING:
    from mercato.payments.bootstrap import PaymentsService


class PaymentsClient(Protocol):
    async def vault_payment_method(
        self, customer_id: uuid.UUID, payment_token: str, idempotency_key: str
    ) -> str:
        """Keep the shopper's provider token in payments (encrypted) and answer the opaque reference
        (`pm_...`) to pay with instead; the same (customer, key) answers the same reference. Errors:
        `InputRejected` / `Conflict` with `VaultPaymentMethodErrorCode`s."""
        ...

    # The payment mutations take their command (`domain.commands`); reads take plain arguments.
    async def authorize(self, cmd: commands.AuthorizePayment) -> PaymentIntent: ...

    # A full capture: over gRPC `cmd.amount` must be None (the request carries no amount).
    async def capture(self, cmd: commands.CapturePayment) -> PaymentIntent: ...

    async def void(self, cmd: commands.VoidPayment) -> PaymentIntent: ...

    async def refund(self, cmd: commands.RefundPayment) -> PaymentIntent: ...

    async def intent(self, intent_id: uuid.UUID) -> PaymentIntent | None: ...

    async def intents_for_order(self, order_reference: str) -> list[PaymentIntent]: ...

    async def reconcile(self, order_reference: str) -> list[Reconciliation]: ...


class InProcessPaymentsClient:
    """`PaymentsClient` calling a `PaymentsService` in the same process."""

    def __init__(self, service: PaymentsService) -> None:
        self.service = service

    async def vault_payment_method(
        self, customer_id: uuid.UUID, payment_token: str, idempotency_key: str
    ) -> str:
        return await self.service.vault_payment_method(
            commands.VaultPaymentMethod(
                customer_id=customer_id, payment_token=payment_token, idempotency_key=idempotency_key
            )
        )

    async def authorize(self, cmd: commands.AuthorizePayment) -> PaymentIntent:
        return await self.service.handle(cmd)

    async def capture(self, cmd: commands.CapturePayment) -> PaymentIntent:
        return await self.service.handle(cmd)

    async def void(self, cmd: commands.VoidPayment) -> PaymentIntent:
        return await self.service.handle(cmd)

    async def refund(self, cmd: commands.RefundPayment) -> PaymentIntent:
        return await self.service.handle(cmd)

    async def intent(self, intent_id: uuid.UUID) -> PaymentIntent | None:
        return await self.service.queries.intent(intent_id)

    async def intents_for_order(self, order_reference: str) -> list[PaymentIntent]:
        return await self.service.queries.intents_for_order(order_reference)

    async def reconcile(self, order_reference: str) -> list[Reconciliation]:
        return await self.service.queries.reconcile(order_reference)
