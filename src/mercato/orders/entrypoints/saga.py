"""The saga's consumers: participants' replies (inventory and payments events) drive the sagas.

Each reply is translated into a `SagaMessage` and fed to the saga it names (`reference` /
`order_reference` is the order id), in the consumer's unit of work: inbox row, saga row (locked),
order status, history and the next commands commit together. Every reply type has a batch handler
(`Subscription.batch_handlers`): a run of replies of one type in a fetched batch locks all its sagas
in one statement and stores all that moved in one more (`advance_sagas`). Replies that concern no order (a
reservation made by staff, a payment of something else) find no saga and change nothing.

The orders know the participants' events by type name and payload only: no import of the
inventory or payments, whose events are a published contract (docs/events.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from mercato.orders.domain.saga_types import (
    PaymentAuthorized,
    PaymentCaptured,
    PaymentCaptureFailed,
    PaymentDeclined,
    PaymentRefunded,
    PaymentVoided,
    SagaMessage,
    SagaPolicy,
    StockCommitted,
    StockRejected,
    StockReleased,
    StockReserved,
    StockRestocked,
)
from mercato.orders.service_layer.handlers import advance_sagas
from mercato.orders.service_layer.unit_of_work import Clock, OrdersUnitOfWork
from mercato.platform.events import Envelope
from mercato.platform.inbox import BatchHandler, Subscription
from mercato.platform.inbox_tracing import within_message
from mercato.platform.unit_of_work import UnitOfWork

Translate = Callable[[dict[str, Any]], SagaMessage | None]


def _payment_failed(p: dict[str, Any]) -> SagaMessage | None:
    """`payments.payment_operation_failed`: a request payments refused for good (not a decline)."""
    operation = str(p.get("operation", ""))
    if operation == "AUTHORIZE":
        return PaymentDeclined(code=str(p.get("code", "")), error=True)
    if operation == "CAPTURE":
        return PaymentCaptureFailed(
            code=str(p.get("code", "")), intent_id=str(p.get("intent_id") or "") or None
        )
    # A refused void or refund means the intent is already past it; its own event says where.
    return None


# Event type -> (payload field naming the order, translation into a saga message).
INVENTORY_REPLIES: dict[str, tuple[str, Translate]] = {
    "inventory.reservation_created": ("reference", lambda p: StockReserved(str(p["reservation_id"]))),
    "inventory.stock_reservation_rejected": (
        "reference",
        lambda p: StockRejected(tuple(str(s) for s in p.get("skus", ()))),
    ),
    "inventory.reservation_committed": ("reference", lambda p: StockCommitted(str(p["reservation_id"]))),
    "inventory.reservation_released": (
        "reference",
        lambda p: StockReleased(str(p["reservation_id"]), expired=p.get("status") == "EXPIRED"),
    ),
    "inventory.reservation_restocked": ("reference", lambda p: StockRestocked(str(p["reservation_id"]))),
}
PAYMENT_REPLIES: dict[str, tuple[str, Translate]] = {
    "payments.payment_authorized": ("order_reference", lambda p: PaymentAuthorized(str(p["intent_id"]))),
    "payments.payment_declined": (
        "order_reference",
        lambda p: PaymentDeclined(code=str(p.get("decline_code", ""))),
    ),
    "payments.payment_captured": ("order_reference", lambda p: PaymentCaptured(str(p["intent_id"]))),
    "payments.payment_voided": ("order_reference", lambda p: PaymentVoided(str(p["intent_id"]))),
    "payments.payment_refunded": (
        "order_reference",
        lambda p: PaymentRefunded(str(p["intent_id"]), refunded_total=int(p["refunded_total"])),
    ),
    "payments.payment_operation_failed": ("order_reference", _payment_failed),
}


def order_id_of(value: object) -> uuid.UUID | None:
    """The order id a participant's reference holds; None when the reference is not an order's."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def subscriptions(clock: Clock, policy: SagaPolicy) -> list[Subscription]:
    def handler(field: str, translate: Translate) -> BatchHandler:
        async def handle(envelopes: Sequence[Envelope], uow: UnitOfWork) -> None:
            assert isinstance(uow, OrdersUnitOfWork)
            messages: list[tuple[uuid.UUID, SagaMessage]] = []
            sources: list[Envelope] = []
            for envelope in envelopes:
                order_id = order_id_of(envelope.payload.get(field))
                message = translate(envelope.payload)
                if order_id is not None and message is not None:
                    messages.append((order_id, message))
                    sources.append(envelope)
            if messages:
                await advance_sagas(
                    uow,
                    messages,
                    now=clock(),
                    policy=policy,
                    traced=lambda i: within_message(sources[i]),
                )

        return handle

    return [
        Subscription(
            name="saga_inventory",
            source_context="inventory",
            handlers={},
            batch_handlers={name: handler(field, t) for name, (field, t) in INVENTORY_REPLIES.items()},
        ),
        Subscription(
            name="saga_payments",
            source_context="payments",
            handlers={},
            batch_handlers={name: handler(field, t) for name, (field, t) in PAYMENT_REPLIES.items()},
        ),
    ]
