"""Input checks of the payment commands, raised as `Problem`s (handlers re-code them).

They run before a database connection is taken, and nothing is recorded for a refused input:
the same idempotency key may be used again with corrected input.
"""

from __future__ import annotations

import uuid

from mercato.payments.domain.commands import (
    AuthorizeAndCapturePayment,
    AuthorizePayment,
    CapturePayment,
    RefundPayment,
    VaultPaymentMethod,
    VoidPayment,
)
from mercato.payments.domain.vault import REFERENCE_MAX, TOKEN_MAX
from mercato.platform.errors import Problem
from mercato.platform.types import Money
from mercato.platform.validation import Checks

TEXT_MAX = 200  # order reference, idempotency key, refund reason


def _money(checks: Checks, value: object, *, required: bool = True) -> None:
    if value is None:
        if required:
            checks.add("amount", Problem.REQUIRED, "amount is required")
    elif not isinstance(value, Money):
        checks.add("amount", Problem.INVALID, "amount must be money in minor units")
    elif value.amount <= 0:
        checks.add("amount", Problem.OUT_OF_RANGE, "amount must be more than zero")


def _intent_id(checks: Checks, value: object) -> None:
    if value is None:
        checks.add("intentId", Problem.REQUIRED, "intentId is required")
    elif not isinstance(value, uuid.UUID):
        checks.add("intentId", Problem.INVALID, "intentId must be a payment intent id")


def _key(checks: Checks, value: str) -> None:
    checks.text("idempotencyKey", value, max_length=TEXT_MAX)


def check_vault(cmd: VaultPaymentMethod) -> None:
    checks = Checks()
    if not isinstance(cmd.customer_id, uuid.UUID):
        checks.add("customerId", Problem.INVALID, "customerId must be a customer id")
    checks.text("paymentToken", cmd.payment_token, max_length=TOKEN_MAX)
    _key(checks, cmd.idempotency_key)
    checks.raise_as(Problem)


def check_authorize(cmd: AuthorizePayment) -> None:
    checks = Checks()
    checks.text("orderReference", cmd.order_reference, max_length=TEXT_MAX)
    _money(checks, cmd.amount)
    checks.text("paymentToken", cmd.payment_token, max_length=REFERENCE_MAX)
    _key(checks, cmd.idempotency_key)
    checks.raise_as(Problem)


def check_authorize_and_capture(cmd: AuthorizeAndCapturePayment) -> None:
    checks = Checks()
    checks.text("orderReference", cmd.order_reference, max_length=TEXT_MAX)
    _money(checks, cmd.amount)
    checks.text("paymentToken", cmd.payment_token, max_length=REFERENCE_MAX)
    _key(checks, cmd.idempotency_key)
    checks.text("captureIdempotencyKey", cmd.capture_idempotency_key, max_length=TEXT_MAX)
    checks.raise_as(Problem)


def check_capture(cmd: CapturePayment) -> None:
    checks = Checks()
    _intent_id(checks, cmd.intent_id)
    _money(checks, cmd.amount, required=False)
    _key(checks, cmd.idempotency_key)
    checks.raise_as(Problem)


def check_void(cmd: VoidPayment) -> None:
    checks = Checks()
    _intent_id(checks, cmd.intent_id)
    _key(checks, cmd.idempotency_key)
    checks.raise_as(Problem)


def check_refund(cmd: RefundPayment) -> None:
    checks = Checks()
    _intent_id(checks, cmd.intent_id)
    _money(checks, cmd.amount)
    _key(checks, cmd.idempotency_key)
    checks.text("reason", cmd.reason, max_length=TEXT_MAX)
    checks.raise_as(Problem)
