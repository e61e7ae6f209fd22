"""Business-rule violations of payments, raised by the model and re-coded per mutation."""

from __future__ import annotations

import uuid

from mercato.platform.errors import ClientError, Conflict, NotFound, Unavailable


class IntentNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("payment intent not found", code="INTENT_NOT_FOUND", field="intentId")


class InvalidState(Conflict):
    """The operation is not allowed from the intent's current status (e.g. capture after void)."""

    def __init__(self, operation: str, status: str) -> None:
        self.operation = operation
        self.status = status
        super().__init__(f"cannot {operation.lower()} a payment that is {status}", code="INVALID_STATE")


class RefundExceedsCaptured(Conflict):
    def __init__(self, asked: int, refundable: int) -> None:
        self.asked = asked
        self.refundable = refundable
        super().__init__(
            f"refund of {asked} exceeds the {refundable} still refundable",
            code="REFUND_EXCEEDS_CAPTURED",
            field="amount",
        )


class CurrencyMismatch(Conflict):
    def __init__(self, asked: str, intent: str) -> None:
        super().__init__(
            f"amount is in {asked}, the payment in {intent}", code="CURRENCY_MISMATCH", field="amount"
        )


class PartialCaptureNotSupported(ClientError):
    def __init__(self) -> None:
        super().__init__(
            "only a capture of the full authorized amount is supported",
            code="PARTIAL_CAPTURE_NOT_SUPPORTED",
            field="amount",
        )


class IdempotencyKeyReused(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "this idempotency key was already used for a different request",
            code="IDEMPOTENCY_KEY_REUSED",
            field="idempotencyKey",
        )


class PaymentDeclined(Conflict):
    """The provider refused the authorization; the intent is FAILED (its id is `intent_id`).

    `code` is PAYMENT_DECLINED or INSUFFICIENT_FUNDS."""

    def __init__(self, code: str, intent_id: uuid.UUID) -> None:
        self.intent_id = intent_id
        message = "insufficient funds" if code == "INSUFFICIENT_FUNDS" else "the payment was declined"
        super().__init__(message, code=code, field="paymentToken")


class ProviderRejected(Conflict):
    """The provider refused a capture, void or refund (its state differs from ours)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"the payment provider refused: {detail}", code="PROVIDER_REJECTED")


class CaptureRefused(ClientError):
    """The authorization of an authorize-and-capture went through and its capture was refused
    (`cause`, with its code): the money is only authorized, on intent `intent_id`."""

    def __init__(self, intent_id: uuid.UUID, cause: ClientError) -> None:
        self.intent_id = intent_id
        self.cause = cause
        super().__init__(cause.message, code=cause.code, field=cause.field)


class PaymentsPaused(Conflict):
    """New payments are refused while the provider's circuit breaker is open (the provider stopped
    answering, `domain.breaker`): a checkout is turned away at once, with a code, rather than queued
    behind the outage. Retrying after `retry_after_seconds` may go through."""

    def __init__(self, retry_after_seconds: float) -> None:
        self.retry_after_seconds = round(max(retry_after_seconds, 0.1), 1)
        super().__init__(
            f"payments are paused for {self.retry_after_seconds} s: the payment provider is not "
            "answering; try again shortly",
            code="PAYMENTS_PAUSED",
        )


class OperationInProgress(Unavailable):
    """Another request is driving this operation (or one on the same intent); retry shortly."""

    def __init__(self) -> None:
        super().__init__(
            "another operation on this payment is in progress; retry shortly", code="OPERATION_IN_PROGRESS"
        )


class LockBusy(OperationInProgress):
    """The caller's transaction holds payment locks (a consumer's batch) and this operation would
    have to wait for a lock or a lease: it is refused rather than risk waiting on itself. The
    consumer retries its messages one by one, where nothing is held and waiting is safe."""
