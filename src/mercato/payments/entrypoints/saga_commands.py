"""Payments' side of the checkout saga: runs the orders' payment commands, replies with events.

Consumes `orders.authorize_and_capture_payment_requested` (the saga's payment step),
`orders.void_payment_requested` and `orders.refund_payment_requested`, and still
`orders.authorize_payment_requested` / `orders.capture_payment_requested` (the two steps sagas sent
before authorize-and-capture became one; re-sent while such a saga is in flight). Success replies are
the payments' own events, written with the intent's change (`payment_authorized`, `_captured`,
`_voided`, `_refunded`, and `payment_declined` for a declined authorization), all carrying
`order_reference` = the order id; authorize-and-capture answers `payment_captured` only (its
authorization's event is left out: the saga waits for the capture). A request payments refuses
without an event of its own (bad input, a provider that rejects a capture) is replied here with
`payments.payment_operation_failed`, written in the consumer's unit of work, i.e. with the inbox
row; a capture refused after its authorization names the intent, for the saga to void.

Never charged twice: the idempotency key comes from the command, and the orders derive it from the
order id and the step (`order:<id>:capture`), so a redelivered or re-sent command finds the first
operation and answers its outcome (or finishes it, if a crash left it pending). The PENDING
operation commits in a transaction of payments' own before the provider is asked; the outcome,
its ledger entry and its reply event are written in the consumer's unit of work, so they commit
with the inbox row (one transaction fewer per command). A crash before that commit leaves the
operation PENDING: the redelivered command (same key) or the `pending payments` sweeper finishes
it, asking the provider again under the same reference. Authorize-and-capture commits one PENDING
operation, the authorization planning its capture: both provider calls follow, and both outcomes
are written in one statement; whoever finishes a PENDING authorization asks its capture too, under
a reference derived from the authorization's (`service_layer.operations`).

The consumer's unit of work may hold a whole batch of messages: nothing here rolls it back, and a
command that would have to wait for what the batch holds raises `LockBusy` (see
`service_layer.operations`). Provider timeouts and errors (`Unavailable`) propagate too: the
consumer retries the messages one by one, then with backoff up to its max deliveries; if nothing
comes back in time, the saga's own deadline re-sends or compensates.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from mercato.payments.domain.commands import (
    AuthorizeAndCapturePayment,
    AuthorizePayment,
    CapturePayment,
    RefundPayment,
    VoidPayment,
)
from mercato.payments.domain.rules import CaptureRefused, InvalidState, PaymentDeclined
from mercato.payments.service_layer.unit_of_work import PaymentsUnitOfWork
from mercato.platform.errors import ClientError
from mercato.platform.events import DomainEvent, Envelope
from mercato.platform.inbox import Subscription
from mercato.platform.types import Money
from mercato.platform.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

AUTHORIZE_PAYMENT_REQUESTED = "orders.authorize_payment_requested"
AUTHORIZE_AND_CAPTURE_PAYMENT_REQUESTED = "orders.authorize_and_capture_payment_requested"
CAPTURE_PAYMENT_REQUESTED = "orders.capture_payment_requested"
VOID_PAYMENT_REQUESTED = "orders.void_payment_requested"
REFUND_PAYMENT_REQUESTED = "orders.refund_payment_requested"
# The consumer's batches: small, several at once (see `saga_subscription`).
PROVIDER_BATCH_SIZE = 8
PROVIDER_BATCHES_IN_FLIGHT = 4


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

    async def handle(self, cmd: Any, outcome: PaymentsUnitOfWork | None = None) -> Any: ...


def _outcome_in(uow: UnitOfWork) -> PaymentsUnitOfWork | None:
    """The consumer's unit of work, where the outcome goes (it is payments' own, built by
    `PaymentsService.unit_of_work`); any other kind holds no payment row, and the outcome then
    commits in a transaction of its own, as a request's does."""
    return uow if isinstance(uow, PaymentsUnitOfWork) else None


class _Participant:
    """The handlers, one per command event; `payments` is `PaymentsService`."""

    def __init__(self, payments: PaymentCommands) -> None:
        self.payments = payments

    async def authorize(self, envelope: Envelope, uow: UnitOfWork) -> None:
        p = envelope.payload
        order_reference = str(p["order_id"])
        try:
            await self.payments.handle(
                AuthorizePayment(
                    order_reference=order_reference,
                    amount=Money(int(p["amount"]), str(p["currency"])),
                    payment_token=_payment_method(p),
                    idempotency_key=str(p["idempotency_key"]),
                ),
                _outcome_in(uow),
            )
        except PaymentDeclined:
            pass  # `payment_declined` was written with the FAILED intent: that is the reply
        except ClientError as exc:
            uow.add_event(_failed(order_reference, "", "AUTHORIZE", exc))

    async def authorize_and_capture(self, envelope: Envelope, uow: UnitOfWork) -> None:
        p = envelope.payload
        order_reference = str(p["order_id"])
        try:
            await self.payments.handle(
                AuthorizeAndCapturePayment(
                    order_reference=order_reference,
                    amount=Money(int(p["amount"]), str(p["currency"])),
                    payment_token=_payment_method(p),
                    idempotency_key=str(p["idempotency_key"]),
                    capture_idempotency_key=str(p["capture_idempotency_key"]),
                ),
                _outcome_in(uow),
            )
        except PaymentDeclined:
            pass  # `payment_declined` was written with the FAILED intent: that is the reply
        except CaptureRefused as exc:
            uow.add_event(_failed(order_reference, str(exc.intent_id), "CAPTURE", exc))
        except ClientError as exc:
            uow.add_event(_failed(order_reference, "", "AUTHORIZE", exc))

    async def capture(self, envelope: Envelope, uow: UnitOfWork) -> None:
        p = envelope.payload
        try:
            await self.payments.handle(
                CapturePayment(intent_id=_intent(p), idempotency_key=str(p["idempotency_key"])),
                _outcome_in(uow),
            )
        except ClientError as exc:
            # The provider rejected it, or the intent is past capture (voided by a compensation
            # that got there first; the saga ignores this reply then, `payment_voided` decides).
            uow.add_event(_failed(str(p["order_id"]), str(p["intent_id"]), "CAPTURE", exc))

    async def void(self, envelope: Envelope, uow: UnitOfWork) -> None:
        p = envelope.payload
        try:
            await self.payments.handle(
                VoidPayment(intent_id=_intent(p), idempotency_key=str(p["idempotency_key"])),
                _outcome_in(uow),
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

    async def refund(self, envelope: Envelope, uow: UnitOfWork) -> None:
        p = envelope.payload
        try:
            await self.payments.handle(
                RefundPayment(
                    intent_id=_intent(p),
                    amount=Money(int(p["amount"]), str(p["currency"])),
                    idempotency_key=str(p["idempotency_key"]),
                    reason=str(p.get("reason") or "order rejected")[:200],
                ),
                _outcome_in(uow),
            )
        except ClientError as exc:
            log.error(
                "refund of %s for order %s refused: %s", p.get("intent_id"), p.get("order_id"), exc.message
            )


def saga_subscription(payments: PaymentCommands) -> Subscription:
    participant = _Participant(payments)
    return Subscription(
        name="saga_commands",
        source_context="orders",
        handlers={
            AUTHORIZE_AND_CAPTURE_PAYMENT_REQUESTED: participant.authorize_and_capture,
            AUTHORIZE_PAYMENT_REQUESTED: participant.authorize,
            CAPTURE_PAYMENT_REQUESTED: participant.capture,
            VOID_PAYMENT_REQUESTED: participant.void,
            REFUND_PAYMENT_REQUESTED: participant.refund,
        },
        # Each command waits on the provider (tens to hundreds of ms a call; 2 s at its timeout), and
        # a batch calls it message after message: with one batch of up to 100 in flight, a provider
        # at ~100 ms drained ~10 commands/s, and the refunds of a clock jump's 300 timed-out orders
        # took minutes (`make chaos`, docs/reliability.md). Small batches side by side overlap the
        # calls; each batch holds two connections at most (its transaction, and transaction 1's).
        batch_size=PROVIDER_BATCH_SIZE,
        concurrency=PROVIDER_BATCHES_IN_FLIGHT,
    )


def _payment_method(payload: dict[str, Any]) -> str:
    """The vaulted reference (`payment_method`); a command sent before the vault carries the raw
    token (`payment_token`), paid with as it is."""
    value = payload.get("payment_method") or payload.get("payment_token")
    return str(value or "")


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
