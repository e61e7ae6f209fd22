"""`PaymentsClient` over gRPC: the same Protocol, return types and typed errors as in process.

Every payments mutation carries an idempotency key the service honours, so every call here may be
retried (see `platform.grpc.client`): a repeat answers the first outcome and never moves money twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from mercato._gen.mercato.common.v1 import money_pb2
from mercato._gen.mercato.payments.v1 import payments_pb2, payments_service_pb2, payments_service_pb2_grpc
from mercato.payments.domain import commands, rules
from mercato.payments.domain.errors import (
    AuthorizePaymentErrorCode,
    CapturePaymentErrorCode,
    RefundPaymentErrorCode,
    VaultPaymentMethodErrorCode,
    VoidPaymentErrorCode,
)
from mercato.payments.domain.model import IntentStatus, PaymentIntent, Reconciliation
from mercato.payments.domain.provider import ProviderError, ProviderTimeout
from mercato.platform.errors import FieldError, InputRejected, MercatoError
from mercato.platform.grpc.client import CallPolicy, ServiceCaller
from mercato.platform.grpc.convert import from_timestamp, money_message
from mercato.platform.types import Money

TARGET = "payments"
# Domain classes the payments raise, so the client re-raises the very class (PaymentDeclined, ...).
KNOWN_ERRORS: tuple[type[MercatoError], ...] = (
    rules.IntentNotFound,
    rules.InvalidState,
    rules.RefundExceedsCaptured,
    rules.CurrencyMismatch,
    rules.PartialCaptureNotSupported,
    rules.IdempotencyKeyReused,
    rules.PaymentDeclined,
    rules.ProviderRejected,
    rules.OperationInProgress,
    rules.PaymentsPaused,
    ProviderError,
    ProviderTimeout,
)


def money(message: money_pb2.Money) -> Money:
    return Money(message.amount_minor, message.currency_code)


def intent_value(message: payments_pb2.PaymentIntent) -> PaymentIntent:
    status = payments_pb2.IntentStatus.Name(message.status).removeprefix("INTENT_STATUS_")
    return PaymentIntent(
        id=uuid.UUID(message.id),
        order_reference=message.order_reference,
        amount=money(message.amount),
        status=IntentStatus(status),
        provider=message.provider,
        provider_reference=message.provider_reference if message.HasField("provider_reference") else None,
        captured_amount=money(message.captured_amount),
        refunded_amount=money(message.refunded_amount),
        created_at=from_timestamp(message.created_at),
        updated_at=from_timestamp(message.updated_at),
        version=message.version,
        failure_code=message.failure_code if message.HasField("failure_code") else None,
    )


def reconciliation(message: payments_pb2.Reconciliation) -> Reconciliation:
    return Reconciliation(
        order_reference=message.order_reference,
        currency=message.currency,
        authorized=message.authorized,
        captured=message.captured,
        refunded=message.refunded,
        voided=message.voided,
    )


class GrpcPaymentsClient:
    """`PaymentsClient` calling a payments service through `channel`."""

    def __init__(
        self, channel: Any, *, service: str, secret: str | None, policy: CallPolicy | None = None
    ) -> None:
        # The generated stub is untyped; its methods are wrapped by ServiceCaller.call, which is typed.
        self._stub = payments_service_pb2_grpc.PaymentsServiceStub(channel)  # type: ignore[no-untyped-call]
        self._caller = ServiceCaller(
            service=service, target_name=TARGET, secret=secret, policy=policy, known_errors=KNOWN_ERRORS
        )

    async def vault_payment_method(
        self, customer_id: uuid.UUID, payment_token: str, idempotency_key: str
    ) -> str:
        request = payments_service_pb2.VaultPaymentMethodRequest(
            customer_id=str(customer_id), payment_token=payment_token, idempotency_key=idempotency_key
        )
        reply = await self._caller.call(
            self._stub.VaultPaymentMethod, request, retryable=True, codes=VaultPaymentMethodErrorCode
        )
        return str(reply.payment_method)

    async def authorize(self, cmd: commands.AuthorizePayment) -> PaymentIntent:
        request = payments_service_pb2.AuthorizePaymentRequest(
            order_reference=cmd.order_reference,
            amount=money_message(cmd.amount),
            payment_token=cmd.payment_token,
            idempotency_key=cmd.idempotency_key,
        )
        try:
            reply = await self._caller.call(
                self._stub.AuthorizePayment, request, retryable=True, codes=AuthorizePaymentErrorCode
            )
        except rules.PaymentDeclined as exc:
            # The id of the FAILED intent travels as text (error attributes are JSON).
            raw: object = getattr(exc, "intent_id", None)
            if isinstance(raw, str):
                exc.intent_id = uuid.UUID(raw)
            raise
        return intent_value(reply.intent)

    async def capture(self, cmd: commands.CapturePayment) -> PaymentIntent:
        if cmd.amount is not None:
            # The request has no amount field (wire compatibility): refuse rather than capture
            # something else than asked.
            problem = FieldError(
                "amount", CapturePaymentErrorCode.INVALID, "a remote capture takes no amount"
            )
            raise InputRejected([problem])
        request = payments_service_pb2.CapturePaymentRequest(
            intent_id=str(cmd.intent_id), idempotency_key=cmd.idempotency_key
        )
        reply = await self._caller.call(
            self._stub.CapturePayment, request, retryable=True, codes=CapturePaymentErrorCode
        )
        return intent_value(reply.intent)

    async def void(self, cmd: commands.VoidPayment) -> PaymentIntent:
        request = payments_service_pb2.VoidPaymentRequest(
            intent_id=str(cmd.intent_id), idempotency_key=cmd.idempotency_key
        )
        reply = await self._caller.call(
            self._stub.VoidPayment, request, retryable=True, codes=VoidPaymentErrorCode
        )
        return intent_value(reply.intent)

    async def refund(self, cmd: commands.RefundPayment) -> PaymentIntent:
        request = payments_service_pb2.RefundPaymentRequest(
            intent_id=str(cmd.intent_id),
            amount=money_message(cmd.amount),
            idempotency_key=cmd.idempotency_key,
            reason=cmd.reason,
        )
        reply = await self._caller.call(
            self._stub.RefundPayment, request, retryable=True, codes=RefundPaymentErrorCode
        )
        return intent_value(reply.intent)

    async def intent(self, intent_id: uuid.UUID) -> PaymentIntent | None:
        request = payments_service_pb2.GetIntentRequest(intent_id=str(intent_id))
        reply = await self._caller.call(self._stub.GetIntent, request, retryable=True)
        return intent_value(reply.intent) if reply.HasField("intent") else None

    async def intents_for_order(self, order_reference: str) -> list[PaymentIntent]:
        request = payments_service_pb2.ListIntentsForOrderRequest(order_reference=order_reference)
        reply = await self._caller.call(self._stub.ListIntentsForOrder, request, retryable=True)
        return [intent_value(i) for i in reply.intents]

    async def reconcile(self, order_reference: str) -> list[Reconciliation]:
        request = payments_service_pb2.ReconcileOrderRequest(order_reference=order_reference)
        reply = await self._caller.call(self._stub.ReconcileOrder, request, retryable=True)
        return [reconciliation(r) for r in reply.reconciliations]
