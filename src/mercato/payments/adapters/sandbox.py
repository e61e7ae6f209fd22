"""The built-in sandbox provider: behaves like a card processor, driven by test tokens.

Tokens (for `authorize`):
  tok_success, or any token starting with `tok_ok`  approved
  tok_decline                                       declined (DECLINED)
  tok_insufficient_funds                            declined (INSUFFICIENT_FUNDS)
  tok_provider_error                                raises ProviderError; nothing is recorded
  tok_timeout                                       the charge is made, then the answer never comes
                                                    (sleeps `timeout_seconds`); asking again with the
                                                    same reference answers at once
  anything else                                     declined (DECLINED): an unknown card
It keeps its books in `payments.sandbox_charges` / `sandbox_operations`, in transactions of its
own (it is "another system"), so a capture, void or refund of an unknown, declined or voided
charge is refused as a real provider would, and every call is idempotent on its `reference`: the
same reference answers the first outcome again (a different request under it is refused).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.payments.domain.provider import DeclineCode, ProviderError, ProviderResult
from mercato.platform.db import Database
from mercato.platform.types import Money

# Test card tokens, not secrets.
SUCCESS_TOKEN = "tok_success"  # noqa: S105
SUCCESS_PREFIX = "tok_ok"
ERROR_TOKEN = "tok_provider_error"  # noqa: S105
TIMEOUT_TOKEN = "tok_timeout"  # noqa: S105
DECLINE_TOKENS = {
    "tok_decline": DeclineCode.DECLINED,
    "tok_insufficient_funds": DeclineCode.INSUFFICIENT_FUNDS,
}

_AUTHORIZE = text(
    "INSERT INTO payments.sandbox_charges (id, reference, token, amount, currency, status, decline_code) "
    "VALUES (:id, :reference, :token, :amount, :currency, :status, :decline_code) "
    "ON CONFLICT (reference) DO NOTHING RETURNING id"
)
_CHARGE_BY_REFERENCE = text(
    "SELECT id, token, amount, currency, status, decline_code FROM payments.sandbox_charges "
    "WHERE reference = :reference"
)
# The charge, locked (calls on one charge queue), with the earlier answer under `reference` if any.
_LOCK_CHARGE = text(
    "SELECT c.id, c.amount, c.currency, c.status, c.captured_amount, c.refunded_amount, "
    "o.reference AS seen, o.kind AS seen_kind, o.amount AS seen_amount, o.approved AS seen_approved, "
    "o.decline_code AS seen_decline, o.provider_reference AS seen_provider_reference "
    "FROM payments.sandbox_charges c LEFT JOIN payments.sandbox_operations o ON o.reference = :reference "
    "WHERE c.id = :charge FOR UPDATE OF c"
)
_UPDATE_CHARGE = text(
    "UPDATE payments.sandbox_charges SET status = :status, captured_amount = :captured, "
    "refunded_amount = :refunded, updated_at = now() WHERE id = :charge"
)
_RECORD = text(
    "INSERT INTO payments.sandbox_operations "
    "(reference, charge_id, kind, amount, approved, decline_code, provider_reference) "
    "VALUES (:reference, :charge, :kind, :amount, :approved, :decline_code, :provider_reference)"
)
_PREFIX = {"CAPTURE": "cap", "VOID": "void", "REFUND": "re"}


class SandboxProvider:
    name = "sandbox"

    def __init__(self, db: Database, *, latency_ms: int = 0, timeout_seconds: float = 60.0) -> None:
        self.db = db
        self.latency_ms = latency_ms
        # How long a `tok_timeout` authorization keeps the caller waiting: longer than any caller's
        # timeout, so the caller gives up first.
        self.timeout_seconds = timeout_seconds

    async def _latency(self) -> None:
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)

    async def authorize(self, token: str, amount: Money, reference: str) -> ProviderResult:
        await self._latency()
        if token == ERROR_TOKEN:
            raise ProviderError("sandbox: simulated provider error")
        approved = token in (SUCCESS_TOKEN, TIMEOUT_TOKEN) or token.startswith(SUCCESS_PREFIX)
        decline = None if approved else DECLINE_TOKENS.get(token, DeclineCode.DECLINED)
        charge_id = f"ch_{uuid.uuid4().hex}"
        async with self.db.begin() as conn:
            created = await conn.execute(
                _AUTHORIZE,
                {
                    "id": charge_id,
                    "reference": reference,
                    "token": token,
                    "amount": amount.amount,
                    "currency": amount.currency,
                    "status": "AUTHORIZED" if approved else "DECLINED",
                    "decline_code": decline.value if decline else None,
                },
            )
            first_call = created.first() is not None
            if not first_call:
                return await self._replayed_authorization(conn, token, amount, reference)
        if token == TIMEOUT_TOKEN:
            # Made the charge, lost the answer: the caller must ask again with the same reference.
            await asyncio.sleep(self.timeout_seconds)
        if decline is not None:
            return ProviderResult.declined(decline, f"sandbox: {token}", charge_id)
        return ProviderResult.ok(charge_id)

    async def _replayed_authorization(
        self, conn: AsyncConnection, token: str, amount: Money, reference: str
    ) -> ProviderResult:
        row = (await conn.execute(_CHARGE_BY_REFERENCE, {"reference": reference})).one()
        if (row.token, int(row.amount), row.currency) != (token, amount.amount, amount.currency):
            return ProviderResult.declined(DeclineCode.REFERENCE_REUSED, "sandbox: reference reused")
        if row.status == "DECLINED":
            return ProviderResult.declined(DeclineCode(row.decline_code), f"sandbox: {token}", row.id)
        return ProviderResult.ok(row.id)

    async def capture(self, charge: str, amount: Money, reference: str) -> ProviderResult:
        return await self._change("CAPTURE", charge, amount, reference)

    async def void(self, charge: str, reference: str) -> ProviderResult:
        return await self._change("VOID", charge, None, reference)

    async def refund(self, charge: str, amount: Money, reference: str) -> ProviderResult:
        return await self._change("REFUND", charge, amount, reference)

    async def _change(self, kind: str, charge: str, amount: Money | None, reference: str) -> ProviderResult:
        await self._latency()
        async with self.db.begin() as conn:
            row = (await conn.execute(_LOCK_CHARGE, {"charge": charge, "reference": reference})).first()
            if row is None:
                return ProviderResult.declined(DeclineCode.UNKNOWN_CHARGE, f"sandbox: no charge {charge}")
            value = amount.amount if amount is not None else int(row.amount)
            if row.seen is not None:
                return _replayed(row, kind, value)
            if amount is not None and amount.currency != row.currency:
                decline: DeclineCode | None = DeclineCode.AMOUNT_EXCEEDED
                after = None
            else:
                decline, after = _apply(kind, row, value)
            provider_reference = f"{_PREFIX[kind]}_{uuid.uuid4().hex}"
            if after is not None:
                status, captured, refunded = after
                await conn.execute(
                    _UPDATE_CHARGE,
                    {"charge": charge, "status": status, "captured": captured, "refunded": refunded},
                )
            await conn.execute(
                _RECORD,
                {
                    "reference": reference,
                    "charge": charge,
                    "kind": kind,
                    "amount": value,
                    "approved": decline is None,
                    "decline_code": decline.value if decline else None,
                    "provider_reference": provider_reference,
                },
            )
        if decline is not None:
            return ProviderResult.declined(decline, f"sandbox: {kind.lower()} refused", provider_reference)
        return ProviderResult.ok(provider_reference)


def _replayed(row: Any, kind: str, value: int) -> ProviderResult:
    if (row.seen_kind, int(row.seen_amount)) != (kind, value):
        return ProviderResult.declined(DeclineCode.REFERENCE_REUSED, "sandbox: reference reused")
    if not row.seen_approved:
        return ProviderResult.declined(
            DeclineCode(row.seen_decline), f"sandbox: {kind.lower()} refused", row.seen_provider_reference
        )
    return ProviderResult.ok(row.seen_provider_reference)


def _apply(kind: str, row: Any, value: int) -> tuple[DeclineCode | None, tuple[str, int, int] | None]:
    """The charge's (status, captured, refunded) after `kind` of `value`, or why it is refused."""
    captured, refunded = int(row.captured_amount), int(row.refunded_amount)
    if kind in ("CAPTURE", "VOID") and row.status != "AUTHORIZED":
        return DeclineCode.INVALID_CHARGE_STATE, None
    if kind == "CAPTURE":
        if value > int(row.amount):
            return DeclineCode.AMOUNT_EXCEEDED, None
        return None, ("CAPTURED", value, refunded)
    if kind == "VOID":
        return None, ("VOIDED", captured, refunded)
    if row.status not in ("CAPTURED", "PARTIALLY_REFUNDED"):
        return DeclineCode.INVALID_CHARGE_STATE, None
    if refunded + value > captured:
        return DeclineCode.AMOUNT_EXCEEDED, None
    status = "REFUNDED" if refunded + value == captured else "PARTIALLY_REFUNDED"
    return None, (status, captured, refunded + value)
