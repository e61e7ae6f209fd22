"""The saga state as one JSON document (the `orders.sagas.state` column), and back.

Versioned, so a later change of the state's shape can read the rows written before it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from mercato.orders.domain.model import OrderStatus, RejectReason
from mercato.orders.domain.saga_types import Payment, SagaState, Stock
from mercato.platform.types import Money

# 2: after-purchase fields (cancellation, refunds, tracking number); 3: `payment_method`, the vaulted
# reference, where 1 and 2 held the shopper's raw `payment_token` (still read, and paid with).
VERSION = 3


def to_document(s: SagaState) -> dict[str, Any]:
    return {
        "v": VERSION,
        "order_id": str(s.order_id),
        "lines": [[sku, quantity] for sku, quantity in s.lines],
        "amount": s.amount.amount,
        "currency": s.amount.currency,
        "payment_method": s.payment_method,
        "status": s.status.value,
        "reason": s.reason.value if s.reason else None,
        "stock": s.stock.value,
        "reservation_id": s.reservation_id,
        "payment": s.payment.value,
        "intent_id": s.intent_id,
        "deadline": s.deadline.isoformat() if s.deadline else None,
        "attempts": s.attempts,
        "cancelled_by": s.cancelled_by,
        "cancel_reason": s.cancel_reason,
        "refunded": s.refunded,
        "refunds": [[key, amount] for key, amount in s.refunds],
        "tracking_number": s.tracking_number,
        "parked": s.parked,
    }


def from_document(doc: dict[str, Any]) -> SagaState:
    if doc.get("v") not in (1, 2, VERSION):  # a version 1 document has no after-purchase fields
        raise ValueError(f"unknown saga document version {doc.get('v')!r}")
    return SagaState(
        order_id=uuid.UUID(doc["order_id"]),
        lines=tuple((str(sku), int(quantity)) for sku, quantity in doc["lines"]),
        amount=Money(int(doc["amount"]), str(doc["currency"])),
        payment_method=str(doc["payment_method"] if "payment_method" in doc else doc["payment_token"]),
        status=OrderStatus(doc["status"]),
        reason=RejectReason(doc["reason"]) if doc["reason"] else None,
        stock=Stock(doc["stock"]),
        reservation_id=doc["reservation_id"],
        payment=Payment(doc["payment"]),
        intent_id=doc["intent_id"],
        deadline=datetime.fromisoformat(doc["deadline"]) if doc["deadline"] else None,
        attempts=int(doc["attempts"]),
        cancelled_by=doc.get("cancelled_by"),
        cancel_reason=doc.get("cancel_reason"),
        refunded=int(doc.get("refunded", 0)),
        refunds=tuple((str(key), int(amount)) for key, amount in doc.get("refunds", ())),
        tracking_number=doc.get("tracking_number"),
        parked=doc.get("parked"),
    )
