"""The payments over gRPC (`mercato.payments.v1.PaymentsService`): request -> command or query ->
response. Authentication and error mapping are the platform server's; typed errors just propagate."""

from __future__ import annotations

from typing import Any, Protocol

from mercato._gen.mercato.payments.v1 import payments_pb2, payments_service_pb2, payments_service_pb2_grpc
from mercato.payments.domain import commands
from mercato.payments.domain.model import PaymentIntent, Reconciliation
from mercato.payments.service_layer.queries import PaymentsQueries
from mercato.platform.grpc.convert import money_message, parse_money, parse_uuid, to_timestamp
from mercato.platform.grpc.server import ServiceRegistration

SERVICE_NAME = "mercato.payments.v1.PaymentsService"


class PaymentsService(Protocol):
    """What the servicer uses of `bootstrap.PaymentsService` (entrypoints sit below bootstrap)."""

    queries: PaymentsQueries

    async def handle(self, cmd: Any) -> Any: ...

    async def vault_payment_method(self, cmd: commands.VaultPaymentMethod) -> str: ...


def intent_message(intent: PaymentIntent) -> payments_pb2.PaymentIntent:
    return payments_pb2.PaymentIntent(
        id=str(intent.id),
        order_reference=intent.order_reference,
        amount=money_message(intent.amount),
        status=payments_pb2.IntentStatus.Value(f"INTENT_STATUS_{intent.status.value}"),
        provider=intent.provider,
        provider_reference=intent.provider_reference,
        captured_amount=money_message(intent.captured_amount),
        refunded_amount=money_message(intent.refunded_amount),
        created_at=to_timestamp(intent.created_at),
        updated_at=to_timestamp(intent.updated_at),
        version=intent.version,
        failure_code=intent.failure_code,
    )


def reconciliation_message(value: Reconciliation) -> payments_pb2.Reconciliation:
    return payments_pb2.Reconciliation(
        order_reference=value.order_reference,
        currency=value.currency,
        authorized=value.authorized,
        captured=value.captured,
        refunded=value.refunded,
        voided=value.voided,
    )


class PaymentsServicer(payments_service_pb2_grpc.PaymentsServiceServicer):
    def __init__(self, service: PaymentsService) -> None:
        self.service = service

    async def VaultPaymentMethod(
        self, request: Any, context: Any
    ) -> payments_service_pb2.VaultPaymentMethodResponse:
        command = commands.VaultPaymentMethod(
            customer_id=parse_uuid(request.customer_id, "customerId"),
            payment_token=request.payment_token,
            idempotency_key=request.idempotency_key,
        )
        reference = await self.service.vault_payment_method(command)
        return payments_service_pb2.VaultPaymentMethodResponse(payment_method=reference)

    async def AuthorizePayment(
        self, request: Any, context: Any
    ) -> payments_service_pb2.AuthorizePaymentResponse:
        command = commands.AuthorizePayment(
            order_reference=request.order_reference,
            amount=parse_money(request.amount, "amount"),
            payment_token=request.payment_token,
            idempotency_key=request.idempotency_key,
        )
        intent = await self.service.handle(command)
        return payments_service_pb2.AuthorizePaymentResponse(intent=intent_message(intent))

    async def CapturePayment(self, request: Any, context: Any) -> payments_service_pb2.CapturePaymentResponse:
        command = commands.CapturePayment(
            intent_id=parse_uuid(request.intent_id, "intentId"), idempotency_key=request.idempotency_key
        )
        intent = await self.service.handle(command)
        return payments_service_pb2.CapturePaymentResponse(intent=intent_message(intent))

    async def VoidPayment(self, request: Any, context: Any) -> payments_service_pb2.VoidPaymentResponse:
        command = commands.VoidPayment(
            intent_id=parse_uuid(request.intent_id, "intentId"), idempotency_key=request.idempotency_key
        )
        intent = await self.service.handle(command)
        return payments_service_pb2.VoidPaymentResponse(intent=intent_message(intent))

    async def RefundPayment(self, request: Any, context: Any) -> payments_service_pb2.RefundPaymentResponse:
        command = commands.RefundPayment(
            intent_id=parse_uuid(request.intent_id, "intentId"),
            amount=parse_money(request.amount, "amount"),
            idempotency_key=request.idempotency_key,
            reason=request.reason,
        )
        intent = await self.service.handle(command)
        return payments_service_pb2.RefundPaymentResponse(intent=intent_message(intent))

    async def GetIntent(self, request: Any, context: Any) -> payments_service_pb2.GetIntentResponse:
        intent = await self.service.queries.intent(parse_uuid(request.intent_id, "intentId"))
        if intent is None:
            return payments_service_pb2.GetIntentResponse()
        return payments_service_pb2.GetIntentResponse(intent=intent_message(intent))

    async def ListIntentsForOrder(
        self, request: Any, context: Any
    ) -> payments_service_pb2.ListIntentsForOrderResponse:
        found = await self.service.queries.intents_for_order(request.order_reference)
        return payments_service_pb2.ListIntentsForOrderResponse(intents=[intent_message(i) for i in found])

    async def ReconcileOrder(self, request: Any, context: Any) -> payments_service_pb2.ReconcileOrderResponse:
        found = await self.service.queries.reconcile(request.order_reference)
        return payments_service_pb2.ReconcileOrderResponse(
            reconciliations=[reconciliation_message(r) for r in found]
        )


def registration(service: PaymentsService) -> ServiceRegistration:
    """What `platform.grpc.server.GrpcServer` needs to serve the payments."""
    return ServiceRegistration(
        name=SERVICE_NAME,
        servicer=PaymentsServicer(service),
        add_to_server=payments_service_pb2_grpc.add_PaymentsServiceServicer_to_server,
    )
