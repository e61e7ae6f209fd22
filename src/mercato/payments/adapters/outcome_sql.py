"""The statement that records an operation's outcome: one data-modifying CTE.

lk  (`current`) locks the intent, only at the version the outcome was computed from: before `f`
    touches the operation, since `f` reads it (the order of `locks`, intent then operation)
f   finishes the operation (only if still PENDING: every other part is written only if `f` did)
c   an authorization's planned capture, inserted already finished (authorize-and-capture): it
    never sits PENDING beside its authorization, so the index "one operation in flight per
    intent" never sees two, and no statement depends on the CTE's execution order
i   saves the intent at the version the outcome expected
l   the ledger entry (`lc`: the capture's)
ob  the outbox rows of the reply event
"""

from __future__ import annotations

import json
from typing import Any

from mercato.payments.adapters.rows import intent_snapshot
from mercato.payments.domain.model import LedgerEntry
from mercato.payments.domain.operations import Outcome
from mercato.platform.outbox_embed import EmbeddedEvents, outbox_insert_sql
from mercato.platform.sql import Sql

_OUTBOX_INSERT = outbox_insert_sql("payments")
_FINISH = (
    "f AS (UPDATE payments.payment_operations SET status = :status, result = CAST(:result AS jsonb), "
    "provider_reference = :provider_reference, outcome_code = :outcome_code, decline_code = :decline_code, "
    "lease_token = NULL, lease_until = now(), updated_at = now() "
    "WHERE id = :operation_id AND status = 'PENDING' RETURNING id)"
)
_LOCK_CURRENT = (
    "lk AS (SELECT i.id FROM payments.payment_intents i WHERE i.id = :lock_intent_id "
    "AND i.version = :lock_version FOR UPDATE OF i)"
)
_FINISH_IF_LOCKED = _FINISH.replace(
    "AND status = 'PENDING'", "AND status = 'PENDING' AND EXISTS (SELECT FROM lk)"
)
_CAPTURE = (
    "c AS (INSERT INTO payments.payment_operations (id, operation, idempotency_key, intent_id, "
    "order_reference, amount, currency, status, result, provider_reference, outcome_code, decline_code, "
    "attempts, lease_until) SELECT CAST(:c_id AS uuid), 'CAPTURE', CAST(:c_key AS text), "
    "CAST(:c_intent_id AS uuid), CAST(:c_order_reference AS text), CAST(:c_amount AS bigint), "
    "CAST(:c_currency AS text), CAST(:c_status AS text), CAST(:c_result AS jsonb), "
    "CAST(:c_provider_reference AS text), CAST(:c_outcome_code AS text), CAST(:c_decline_code AS text), "
    "CAST(:c_attempts AS integer), now() FROM f RETURNING id)"
)
_SAVE_INTENT = (
    "i AS (UPDATE payments.payment_intents SET status = :intent_status, "
    "provider_reference = :intent_provider_reference, captured_amount = :captured, "
    "refunded_amount = :refunded, failure_code = :failure_code, updated_at = :updated_at, "
    "version = :version WHERE id = :intent_id AND version = :expected AND EXISTS (SELECT FROM f) "
    "RETURNING id)"
)


def _ledger_entry(name: str, prefix: str, operation_cte: str) -> str:
    """The ledger entry of the operation `operation_cte` returned (`f` or `c`), as CTE `name`."""
    return (
        f"{name} AS (INSERT INTO payments.ledger_entries (id, intent_id, operation_id, order_reference, "
        f"kind, amount, currency, created_at) SELECT CAST(:{prefix}id AS uuid), "
        f"CAST(:{prefix}intent_id AS uuid), {operation_cte}.id, CAST(:{prefix}order_reference AS text), "
        f"CAST(:{prefix}kind AS text), CAST(:{prefix}amount AS bigint), CAST(:{prefix}currency AS text), "
        f"CAST(:{prefix}created_at AS timestamptz) FROM {operation_cte} RETURNING id)"
    )


_ADD_LEDGER_ENTRY = _ledger_entry("l", "entry_", "f")
_ADD_CAPTURE_LEDGER_ENTRY = _ledger_entry("lc", "c_entry_", "c")

# The outcome statements by their text: a handful of shapes (with or without intent, capture,
# ledger, events).
_OUTCOMES: dict[str, Sql] = {}


def _entry_params(prefix: str, entry: LedgerEntry) -> dict[str, Any]:
    return {
        f"{prefix}id": entry.id,
        f"{prefix}intent_id": entry.intent_id,
        f"{prefix}order_reference": entry.order_reference,
        f"{prefix}kind": entry.kind.value,
        f"{prefix}amount": entry.amount.amount,
        f"{prefix}currency": entry.amount.currency,
        f"{prefix}created_at": entry.created_at,
    }


def _capture_params(capture: Outcome) -> dict[str, Any]:
    operation = capture.operation
    return {
        "c_id": operation.id,
        "c_key": operation.idempotency_key,
        "c_intent_id": operation.intent_id,
        "c_order_reference": operation.order_reference,
        "c_amount": operation.amount.amount,
        "c_currency": operation.amount.currency,
        "c_status": capture.status.value,
        "c_result": json.dumps(intent_snapshot(capture.result)),
        "c_provider_reference": capture.provider_reference or None,
        "c_outcome_code": capture.outcome_code,
        "c_decline_code": capture.decline_code,
        "c_attempts": operation.attempts,
    }


def outcome_statement(
    outcome: Outcome, events: EmbeddedEvents | None, *, current: bool = False
) -> tuple[Sql, dict[str, Any]]:
    """The outcome's writes as one data-modifying CTE: the planned capture, the intent, the ledger
    entries and the outbox rows of `events` are written only if the operation was still PENDING
    (`f` returned its row). With `current`, the statement locks the intent itself, and writes
    nothing unless the intent is still at `outcome.expected_version`."""
    operation = outcome.operation
    parts = [_LOCK_CURRENT, _FINISH_IF_LOCKED] if current else [_FINISH]
    params: dict[str, Any] = {
        "operation_id": operation.id,
        "status": outcome.status.value,
        "result": json.dumps(intent_snapshot(outcome.result)),
        "provider_reference": outcome.provider_reference or None,
        "outcome_code": outcome.outcome_code,
        "decline_code": outcome.decline_code,
    }
    if current:
        params |= {"lock_intent_id": operation.intent_id, "lock_version": outcome.expected_version}
    captured = "NULL"
    if outcome.capture is not None:
        parts.append(_CAPTURE)
        captured = "(SELECT count(*) FROM c)"
        params |= _capture_params(outcome.capture)
    saved = "NULL"
    if outcome.intent is not None:
        intent = outcome.intent
        parts.append(_SAVE_INTENT)
        saved = "(SELECT count(*) FROM i)"
        params |= {
            "intent_id": intent.id,
            "intent_status": intent.status.value,
            "intent_provider_reference": intent.provider_reference,
            "captured": intent.captured_amount.amount,
            "refunded": intent.refunded_amount.amount,
            "failure_code": intent.failure_code,
            "updated_at": intent.updated_at,
            "version": intent.version,
            "expected": outcome.expected_version,
        }
    if outcome.ledger is not None:
        parts.append(_ADD_LEDGER_ENTRY)
        params |= _entry_params("entry_", outcome.ledger)
    if outcome.capture is not None and outcome.capture.ledger is not None:
        parts.append(_ADD_CAPTURE_LEDGER_ENTRY)
        params |= _entry_params("c_entry_", outcome.capture.ledger)
    if events is not None:
        parts.append(f"ob AS ({_OUTBOX_INSERT} WHERE EXISTS (SELECT FROM f))")
        params |= events.params()
    body = ", ".join(parts)
    statement = (
        f"WITH {body} SELECT (SELECT count(*) FROM f) AS finished, {saved} AS saved, {captured} AS captured"
    )
    sql = _OUTCOMES.get(statement)
    if sql is None:
        sql = _OUTCOMES[statement] = Sql(statement)
    return sql, params
