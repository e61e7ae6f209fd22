"""Payments' side of the checkout saga: runs the orders' payment commands, replies with events.

Consumes `orders.authorize_payment_requested`, `orders.capture_payment_requested`,
`orders.void_payment_requested` and `orders.refund_payment_requested`. Success replies are the
payments' own events, written with the intent's change (`payment_authorized`, `_captured`,
`_voided`, `_refunded`, and `payment_declined` for a declined authorization), all carrying
`order_reference` = the order id. A request payments refuses without an event of its own (bad
input, a provider that rejects a capture) is replied here with `payments.payment_operation_failed`,
written in the consumer's unit of work, i.e. with the inbox row.

Never charged twice: the idempotency key comes from the command, and the orders derive it from the
order id and the step (`order:<id>:capture`), so a redelivered or re-sent command finds the first
operation and answers its outcome (or finishes it, if a crash left it pending). The operation
commits in payments' own transactions, apart from the inbox row; a redelivery after a crash in
between is harmless for that same reason.

Provider timeouts and errors (`Unavailable`) propagate: the consumer retries the message with
backoff, up to its max deliveries; if nothing comes back in time, the saga's own deadline re-sends
or compensates.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from mercato.payments.domain.commands import AuthorizePayment, CapturePayment, RefundPayment, VoidPayment
from mercato.payments.domain.rules import InvalidState, PaymentDeclined
from mercato.platform.errors import ClientError
from mercato.platform.events import DomainEvent, Envelope
from mercato.platform.inbox import Subscription
from mercato.platform.types import Money
from mercato.platform.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

AUTHORIZE_PAYMENT_REQUESTED = "orders.authorize_payment_requested"
CAPTURE_PAYMENT_REQUESTED = "orders.capture_payment_requested"
VOID_PAYMENT_REQUESTED = "orders.void_payment_requested"
REFUND_PAYMENT_REQUESTED = "orders.refund_payment_requested"


@dataclass(frozen=True, kw_only=True)
class PaymentOperationFailed(DomainEvent):
    """Payments refused a saga's request for good (aggregate_id: the intent id, or the order
    reference when no intent exists). `operation` is AUTHORIZE or CAPTURE; `code` the error code."""

    context: ClassVar[str] = "payments"
    name: ClassVar[str] = "payment_operation_failed"
    order_reference: str
    intent_id: str
    operation: str
    code: str
    message: str


class PaymentCommands(Protocol):
    """What the participant needs of payments: `PaymentsService.handle` (bootstrap sits above the
    entrypoints, so it is handed in rather than imported)."""

    async def handle(self, cmd: Any) -> Any: ...


def saga_subscription(payments: PaymentCommands) -> Subscription:
    async def authorize(envelope: Envelope, uow: UnitOfWork) -> None:
        p = envelope.payload
        order_reference = str(p["order_id"])
        try:
            await payments.handle(
                AuthorizePayment(
                    order_reference=order_reference,
                    amount=Money(int(p["amount"]), str(p["currency"])),
                    payment_token=str(p["payment_token"]),
                    idempotency_key=str(p["idempotency_key"]),
                )
            )
        except PaymentDeclined:
            pass  # `payment_declined` was written with the FAILED intent: that is the reply
        except ClientError as exc:
            uow.add_event(_failed(order_reference, "", "AUTHORIZE", exc))

    async def capture(envelope: Envelope, uow: UnitOfWork) -> None:
        p = envelope.payload
        try:
            await payments.handle(
                CapturePayment(intent_id=_intent(p), idempotency_key=str(p["idempotency_key"]))
            )
        except ClientError as exc:
            # The provider rejected it, or the intent is past capture (voided by a compensation
            # that got there first; the saga ignores this reply then, `payment_voided` decides).
            uow.add_event(_failed(str(p["order_id"]), str(p["intent_id"]), "CAPTURE", exc))

    async def void(envelope: Envelope, uow: UnitOfWork) -> None:
        p = envelope.payload
        try:
            await payments.handle(
                VoidPayment(intent_id=_intent(p), idempotency_key=str(p["idempotency_key"]))
            )
        except InvalidState as exc:
            # Captured before the void came: `payment_captured` is the reply, the saga refunds.
            log.info("void of %s refused: %s", p.get("intent_id"), exc.message)
        except ClientError as exc:
            # The provider refused to void: retrying the same key answers the same; a person must
            # look (the saga keeps the order COMPENSATING and re-sends at each deadline).
            log.error(
                "void of %s for order %s refused: %s", p.get("intent_id"), p.get("order_id"), exc.message
            )

    async def refund(envelope: Envelope, uow: UnitOfWork) -> None:
        p = envelope.payload
        try:
            await payments.handle(
                RefundPayment(
                    intent_id=_intent(p),
                    amount=Money(int(p["amount"]), str(p["currency"])),
                    idempotency_key=str(p["idempotency_key"]),
                    reason=str(p.get("reason") or "order rejected")[:200],
                )
            )
        except ClientError as exc:
            log.error(
                "refund of %s for order %s refused: %s", p.get("intent_id"), p.get("order_id"), exc.message
            )

    return Subscription(
        name="saga_commands",
        source_context="orders",
        handlers={
            AUTHORIZE_PAYMENT_REQUESTED: authorize,
            CAPTURE_PAYMENT_REQUESTED: capture,
            VOID_PAYMENT_REQUESTED: void,
            REFUND_PAYMENT_REQUESTED: refund,
        },
    )


def _intent(payload: dict[str, Any]) -> uuid.UUID:
    return uuid.UUID(str(payload["intent_id"]))


def _failed(order_reference: str, intent_id: str, operation: str, exc: ClientError) -> PaymentOperationFailed:
    return PaymentOperationFailed(
        aggregate_id=intent_id or order_reference,
        order_reference=order_reference,
        intent_id=intent_id,
        operation=operation,
        code=exc.code_name,
        message=exc.message[:500],
    )
