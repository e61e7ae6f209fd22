"""The vocabulary of the checkout saga: its state, the messages it reacts to, the commands it sends.

All plain frozen dataclasses, so the orchestrator (`saga.decide`) stays a pure function and its
state can be stored as one JSON document (`saga_codec`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from mercato.orders.domain.model import OrderOwner, OrderStatus, RejectReason
from mercato.platform.types import Money


class Stock(StrEnum):
    """What the saga knows of its stock reservation (REQUESTED/COMMITTING/RELEASING: a command is out)."""

    NONE = "NONE"
    REQUESTED = "REQUESTED"
    REFUSED = "REFUSED"
    HELD = "HELD"
    COMMITTING = "COMMITTING"
    COMMITTED = "COMMITTED"
    RELEASING = "RELEASING"
    RELEASED = "RELEASED"  # released by us, or expired by the inventory's sweeper
    RESTOCKING = "RESTOCKING"  # a cancelled order's sold units going back on the shelves
    RESTOCKED = "RESTOCKED"


class Payment(StrEnum):
    """What the saga knows of its payment intent (…ING / REQUESTED: a command is out)."""

    NONE = "NONE"
    CHARGING = "CHARGING"  # authorize-and-capture sent: the intent id comes with the reply
    REQUESTED = "REQUESTED"  # authorization sent (by sagas started before authorize-and-capture)
    DECLINED = "DECLINED"
    AUTHORIZED = "AUTHORIZED"
    CAPTURING = "CAPTURING"
    CAPTURED = "CAPTURED"
    VOIDING = "VOIDING"
    VOIDED = "VOIDED"
    REFUNDING = "REFUNDING"
    REFUNDED = "REFUNDED"


@dataclass(frozen=True)
class SagaPolicy:
    """Timing of the saga. `max_retries` bounds re-sends of a forward step before it compensates."""

    step_timeout: timedelta = timedelta(seconds=30)
    max_retries: int = 2
    # Undoing (a void, a refund, a release, a staff refund) is never given up, but after this many
    # re-sends nobody answered (an hour at the default timeout: a provider that keeps refusing a
    # refund) the saga is parked for a person instead of re-sending forever; `resume` re-arms it.
    park_after: int = 120
    # Longer than the whole forward path, so that in normal operation a reservation never expires
    # before it is committed; if it does, the saga compensates (see `saga._learn`).
    reservation_ttl_seconds: int = 900


@dataclass(frozen=True)
class SagaState:
    order_id: uuid.UUID
    lines: tuple[tuple[str, int], ...]  # (sku, quantity) to reserve
    amount: Money  # to authorize, capture and, if need be, refund
    payment_method: str
    status: OrderStatus = OrderStatus.PENDING
    reason: RejectReason | None = None
    stock: Stock = Stock.NONE
    reservation_id: str | None = None
    payment: Payment = Payment.NONE
    intent_id: str | None = None
    deadline: datetime | None = None  # when the sweeper feeds a Timeout; None: nothing awaited
    attempts: int = 0  # re-sends of the step awaited now
    # After the purchase (`after_purchase`). Who cancelled and why; None: not cancelled.
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    refunded: int = 0  # minor units payments confirmed refunded (its running total)
    # Refunds asked by staff, in order: (their idempotency key, minor units). The n-th one's payment
    # key is `refund-<n>`, so a re-send can never refund twice.
    refunds: tuple[tuple[str, int], ...] = ()
    tracking_number: str | None = None
    # Why the saga stopped re-sending and waits for a person (`SagaPolicy.park_after`); None: not parked.
    parked: str | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancelled_by is not None

    @property
    def refund_requested(self) -> int:
        return sum(amount for _, amount in self.refunds)

    @property
    def refunds_pending(self) -> bool:
        """Staff refunds sent and not all confirmed yet (payments reports its running total)."""
        return self.refunded < self.refund_requested


# Messages: facts reported by the participants (translated from their events), and the clock.


@dataclass(frozen=True)
class StockReserved:
    reservation_id: str


@dataclass(frozen=True)
class StockRejected:
    skus: tuple[str, ...] = ()


@dataclass(frozen=True)
class StockCommitted:
    reservation_id: str


@dataclass(frozen=True)
class StockReleased:
    reservation_id: str
    expired: bool = False


@dataclass(frozen=True)
class PaymentAuthorized:
    intent_id: str


@dataclass(frozen=True)
class PaymentDeclined:
    """The provider refused (`code` e.g. INSUFFICIENT_FUNDS), or payments refused the request
    (`error` True: a bad token, an unsupported currency...)."""

    code: str
    error: bool = False


@dataclass(frozen=True)
class PaymentCaptured:
    intent_id: str


@dataclass(frozen=True)
class PaymentCaptureFailed:
    """Payments refused the capture for good (the provider rejected it): the money is still only
    authorized, on `intent_id` (how the saga learns it when authorize-and-capture was one command)."""

    code: str
    intent_id: str | None = None


@dataclass(frozen=True)
class PaymentVoided:
    intent_id: str


@dataclass(frozen=True)
class PaymentRefunded:
    """`refunded_total`: the intent's refunded total after this refund; None: all of it."""

    intent_id: str
    refunded_total: int | None = None


@dataclass(frozen=True)
class StockRestocked:
    reservation_id: str


@dataclass(frozen=True)
class Timeout:
    """Fed by the sweeper once `SagaState.deadline` has passed."""


SagaMessage = (
    StockReserved
    | StockRejected
    | StockCommitted
    | StockReleased
    | PaymentAuthorized
    | PaymentDeclined
    | PaymentCaptured
    | PaymentCaptureFailed
    | PaymentVoided
    | PaymentRefunded
    | StockRestocked
    | Timeout
)


# Commands the saga sends (as events in the orders outbox). Payment keys are derived from the order
# id and the step, so a re-sent command can never charge, void or refund twice.


@dataclass(frozen=True)
class ReserveStock:
    order_id: uuid.UUID
    lines: tuple[tuple[str, int], ...]
    ttl_seconds: int


@dataclass(frozen=True)
class CommitStock:
    order_id: uuid.UUID
    reservation_id: str


@dataclass(frozen=True)
class ReleaseStock:
    order_id: uuid.UUID
    reservation_id: str
    reason: str


@dataclass(frozen=True)
class RestockStock:
    """Put a committed reservation's units back (a cancelled order's)."""

    order_id: uuid.UUID
    reservation_id: str
    reason: str


@dataclass(frozen=True)
class AuthorizePayment:
    order_id: uuid.UUID
    amount: Money
    payment_method: str
    idempotency_key: str


@dataclass(frozen=True)
class AuthorizeAndCapturePayment:
    """Authorize the amount and capture it at once; each half under its own key, the same keys the
    separate commands use, so either kind of command answers for the other."""

    order_id: uuid.UUID
    amount: Money
    payment_method: str
    idempotency_key: str  # the authorization's
    capture_idempotency_key: str


@dataclass(frozen=True)
class CapturePayment:
    order_id: uuid.UUID
    intent_id: str
    idempotency_key: str


@dataclass(frozen=True)
class VoidPayment:
    order_id: uuid.UUID
    intent_id: str
    idempotency_key: str


@dataclass(frozen=True)
class RefundPayment:
    order_id: uuid.UUID
    intent_id: str
    amount: Money
    idempotency_key: str
    reason: str


SagaCommand = (
    ReserveStock
    | CommitStock
    | ReleaseStock
    | RestockStock
    | AuthorizePayment
    | AuthorizeAndCapturePayment
    | CapturePayment
    | VoidPayment
    | RefundPayment
)


def payment_key(order_id: uuid.UUID, step: str) -> str:
    """The idempotency key of one payment step of one order: the same on every re-send."""
    return f"order:{order_id}:{step}"


def staff_refunds(s: SagaState) -> list[RefundPayment]:
    """The refund command of every staff refund of the saga (sent once each; all re-sent on a
    timeout while some are unconfirmed: payments answers a done one by its key, moving nothing)."""
    assert s.intent_id is not None, "only a captured payment is refunded"
    return [
        RefundPayment(
            s.order_id,
            s.intent_id,
            Money(amount, s.amount.currency),
            payment_key(s.order_id, f"refund-{n}"),
            "refund by staff",
        )
        for n, (_, amount) in enumerate(s.refunds, start=1)
    ]


@dataclass(frozen=True)
class LockedSaga:
    """A saga locked for the rest of its transaction, and whose order it drives (the owner names the
    customer and cart in the order's lifecycle events)."""

    state: SagaState
    owner: OrderOwner


@dataclass(frozen=True)
class SagaMove:
    """One step of a saga to store: its state before and after, and who moved it (a cancellation's
    history entry names them)."""

    before: SagaState
    after: SagaState
    actor: str | None = None
    note: str | None = None


# The step a saga awaits, named by the command that is out (a metric label: a fixed, small set).
_STOCK_STEPS = {
    Stock.REQUESTED: "reserve_stock",
    Stock.COMMITTING: "commit_stock",
    Stock.RELEASING: "release_stock",
    Stock.RESTOCKING: "restock",
}
_PAYMENT_STEPS = {
    Payment.CHARGING: "charge_payment",
    Payment.REQUESTED: "authorize_payment",
    Payment.CAPTURING: "capture_payment",
    Payment.VOIDING: "void_payment",
    Payment.REFUNDING: "refund_payment",
}


def awaited_step(s: SagaState) -> str | None:
    """What the saga waits for now (`reserve_stock`, `charge_payment`, `release_stock+void_payment`
    when compensations run side by side, ...); None when no command is out."""
    names = [name for name in (_STOCK_STEPS.get(s.stock), _PAYMENT_STEPS.get(s.payment)) if name]
    if s.refunds_pending and "refund_payment" not in names:
        names.append("refund_payment")
    return "+".join(names) or None
