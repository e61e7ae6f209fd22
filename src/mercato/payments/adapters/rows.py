"""Rows of the payments' tables as domain objects, and the intent as the JSON kept with an outcome.

A row is read by column name: an asyncpg `Record` (`platform.sql`) or a dict.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from mercato.payments.domain.model import IntentStatus, OperationKind, PaymentIntent
from mercato.payments.domain.operations import OperationStatus, PaymentOperation
from mercato.platform.types import Money


def to_intent(row: Any) -> PaymentIntent:
    return PaymentIntent(
        id=row["id"],
        order_reference=row["order_reference"],
        amount=Money(int(row["amount"]), row["currency"]),
        status=IntentStatus(row["status"]),
        provider=row["provider"],
        provider_reference=row["provider_reference"],
        captured_amount=Money(int(row["captured_amount"]), row["currency"]),
        refunded_amount=Money(int(row["refunded_amount"]), row["currency"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=int(row["version"]),
        failure_code=row["failure_code"],
    )


def intent_snapshot(intent: PaymentIntent) -> dict[str, Any]:
    """The intent as JSON, kept with an operation's outcome so a replay returns it as it was."""
    return {
        "id": str(intent.id),
        "order_reference": intent.order_reference,
        "amount": intent.amount.amount,
        "currency": intent.currency,
        "status": intent.status.value,
        "provider": intent.provider,
        "provider_reference": intent.provider_reference,
        "captured_amount": intent.captured_amount.amount,
        "refunded_amount": intent.refunded_amount.amount,
        "failure_code": intent.failure_code,
        "created_at": intent.created_at.isoformat(),
        "updated_at": intent.updated_at.isoformat(),
        "version": intent.version,
    }


def from_snapshot(raw: dict[str, Any]) -> PaymentIntent:
    values = dict(raw)
    values["id"] = uuid.UUID(raw["id"])
    values["created_at"] = datetime.fromisoformat(raw["created_at"])
    values["updated_at"] = datetime.fromisoformat(raw["updated_at"])
    return to_intent(values)


def to_operation(row: Any) -> PaymentOperation:
    return PaymentOperation(
        id=row["id"],
        kind=OperationKind(row["operation"]),
        idempotency_key=row["idempotency_key"],
        intent_id=row["intent_id"],
        order_reference=row["order_reference"],
        amount=Money(int(row["amount"]), row["currency"]),
        payment_token=row["payment_token"],
        reason=row["reason"],
        status=OperationStatus(row["status"]),
        attempts=row["attempts"],
        leased=bool(row["leased"]),
        lease_token=row["lease_token"],
        outcome_code=row["outcome_code"],
        decline_code=row["decline_code"],
        provider_reference=row["provider_reference"],
        result=from_snapshot(row["result"]) if row["result"] is not None else None,
        capture_key=row["capture_key"],
    )


def operation_from_json(raw: dict[str, Any]) -> PaymentOperation:
    """An operation aggregated as JSON (`locks.LOCK_INTENT_WITH_OPERATIONS`): uuids come as text."""
    values = dict(raw)
    values["id"] = uuid.UUID(raw["id"])
    values["intent_id"] = uuid.UUID(raw["intent_id"])
    values["lease_token"] = uuid.UUID(raw["lease_token"]) if raw["lease_token"] else None
    return to_operation(values)
