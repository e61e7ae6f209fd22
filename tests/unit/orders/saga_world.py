"""A model of the saga's participants, with the semantics of the real inventory and payments:
every command idempotent, a repeat writes no second event, a refused command replies nothing
(its "other" outcome already has an event) except a refused reservation or capture.

Authorize-and-capture is the two operations under their two keys: a repeat answers what the
authorization answered the first time (nothing again), then runs or replays the capture as
`CapturePayment` does. With `authorization_alone`, its authorization is reported by itself and
its capture never runs: what payments' sweeper does when it finishes an authorization the command
left pending (its event is `payment_authorized`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from mercato.orders.domain.saga_types import (
    AuthorizeAndCapturePayment,
    AuthorizePayment,
    CapturePayment,
    CommitStock,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentCaptureFailed,
    PaymentDeclined,
    PaymentRefunded,
    PaymentVoided,
    RefundPayment,
    ReleaseStock,
    ReserveStock,
    RestockStock,
    SagaCommand,
    SagaMessage,
    StockCommitted,
    StockRejected,
    StockReleased,
    StockReserved,
    StockRestocked,
    VoidPayment,
)

RID = "res-1"
IID = "pi-1"
ORDER = uuid.UUID(int=7)
AMOUNT = 5000  # the order's total, in minor units


@dataclass
class World:
    """`reservation`: None, ACTIVE, COMMITTED, RELEASED, EXPIRED. `intent`: None, AUTHORIZED,
    CAPTURED, VOIDED, REFUNDED, FAILED. Outcomes the provider or the stock give are chosen by the test."""

    stock_available: bool = True
    authorize_outcome: str = "ok"  # ok | DECLINED | INSUFFICIENT_FUNDS | ERROR
    capture_rejected: bool = False
    authorization_alone: bool = False
    reservation: str | None = None
    intent: str | None = None
    holds: int = 0  # reservations ever made
    authorizations: int = 0
    captures: int = 0
    captured: int = 0  # minor units
    refunded: int = 0
    replies: list[SagaMessage] = field(default_factory=list)
    refund_keys: set[str] = field(default_factory=set)

    def run(self, cmd: SagaCommand) -> None:
        reply = self._effect(cmd)
        if reply is not None:
            self.replies.append(reply)

    def expire(self) -> None:
        if self.reservation == "ACTIVE":
            self.reservation = "EXPIRED"
            self.replies.append(StockReleased(RID, expired=True))

    def _effect(self, cmd: SagaCommand) -> SagaMessage | None:  # noqa: C901 - one branch per command
        if isinstance(cmd, ReserveStock):
            if self.reservation is not None:
                return None  # same reference: the first reservation, no second event
            if not self.stock_available:
                return StockRejected(("SKU-1",))
            self.reservation, self.holds = "ACTIVE", self.holds + 1
            return StockReserved(RID)
        if isinstance(cmd, CommitStock):
            if self.reservation == "ACTIVE":
                self.reservation = "COMMITTED"
                return StockCommitted(RID)
            return None
        if isinstance(cmd, RestockStock):
            if self.reservation == "COMMITTED":
                self.reservation = "RESTOCKED"
                return StockRestocked(RID)
            return None
        if isinstance(cmd, ReleaseStock):
            if self.reservation == "ACTIVE":
                self.reservation = "RELEASED"
                return StockReleased(RID)
            return None
        if isinstance(cmd, AuthorizePayment):
            return self._authorize()
        if isinstance(cmd, AuthorizeAndCapturePayment):
            first = self.intent is None
            authorized = self._authorize()
            if self.intent in (None, "FAILED"):
                return authorized  # declined or refused: the first time only, or the error again
            if self.authorization_alone and first:
                return authorized
            if self.intent == "VOIDED":
                return PaymentCaptureFailed("INVALID_STATE", IID)  # refused by payments, named
            return self._capture(IID)
        if isinstance(cmd, CapturePayment):
            if self.intent != "AUTHORIZED":
                return None
            return self._capture(None)
        if isinstance(cmd, VoidPayment):
            if self.intent == "AUTHORIZED":
                self.intent = "VOIDED"
                return PaymentVoided(IID)
            return None
        return self._refund(cmd)

    def _authorize(self) -> SagaMessage | None:
        if self.intent is not None:
            return None  # same idempotency key: the first outcome, no second event
        if self.authorize_outcome == "ok":
            self.intent, self.authorizations = "AUTHORIZED", self.authorizations + 1
            return PaymentAuthorized(IID)
        if self.authorize_outcome == "ERROR":
            return PaymentDeclined("INVALID", error=True)
        self.intent = "FAILED"
        return PaymentDeclined(self.authorize_outcome)

    def _capture(self, intent_id: str | None) -> SagaMessage | None:
        """The capture of an AUTHORIZED intent (a replay of a done one answers nothing)."""
        if self.intent != "AUTHORIZED":
            return None
        if self.capture_rejected:
            return PaymentCaptureFailed("PROVIDER_REJECTED", intent_id)
        self.intent, self.captures, self.captured = "CAPTURED", self.captures + 1, AMOUNT
        return PaymentCaptured(IID)

    def _refund(self, cmd: SagaCommand) -> SagaMessage | None:
        assert isinstance(cmd, RefundPayment)
        if cmd.idempotency_key in self.refund_keys:
            return None  # same key: the first outcome, no second event
        if self.intent == "CAPTURED" and cmd.amount.amount <= self.captured - self.refunded:
            self.refund_keys.add(cmd.idempotency_key)
            self.refunded += cmd.amount.amount
            if self.refunded == self.captured:
                self.intent = "REFUNDED"
            return PaymentRefunded(IID, refunded_total=self.refunded)
        return None
